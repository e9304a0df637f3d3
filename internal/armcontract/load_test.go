package armcontract

import "testing"

func TestLoadEmbedded(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range c.Tokens() {
		src, _ := c.Source(tok)
		n := 0
		for _, ks := range c.byToken[tok].constraints {
			n += len(ks)
		}
		t.Logf("%s: %s, %d constraints", tok, src, n)
	}
}
