package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// pkg is one parsed SDK module: its non-test Go files at the module root (the fake/ server
// and examples are not read).
type pkg struct {
	dir   string
	fset  *token.FileSet
	files map[string]*ast.File // base name -> file

	structs map[string]*ast.StructType // model name -> struct
	named   map[string]ast.Expr        // every other named type -> underlying type expr
	consts  map[string]string          // const identifier -> literal value
	enums   map[string][]string        // enum type -> Possible<Enum>Values()
	// jsonNames: model -> Go field -> JSON name, from MarshalJSON (populate* calls and
	// objectMap[...] assignments), completed from UnmarshalJSON switch cases.
	jsonNames map[string]map[string]string
	used      map[string]bool // files that contributed to an extraction
}

func parsePkg(dir string) (*pkg, error) {
	p := &pkg{dir: dir, fset: token.NewFileSet(), files: map[string]*ast.File{},
		structs: map[string]*ast.StructType{}, named: map[string]ast.Expr{}, consts: map[string]string{},
		enums: map[string][]string{}, jsonNames: map[string]map[string]string{}, used: map[string]bool{}}
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(p.fset, n, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		p.files[filepath.Base(n)] = f
	}
	if len(p.files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	for _, f := range p.files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				p.collectGen(d)
			}
		}
	}
	for _, f := range p.files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				p.collectFunc(fd)
			}
		}
	}
	return p, nil
}

func (p *pkg) collectGen(d *ast.GenDecl) {
	for _, s := range d.Specs {
		switch s := s.(type) {
		case *ast.TypeSpec:
			if st, ok := s.Type.(*ast.StructType); ok {
				p.structs[s.Name.Name] = st
			} else {
				p.named[s.Name.Name] = s.Type
			}
		case *ast.ValueSpec:
			if d.Tok != token.CONST {
				continue
			}
			for i, n := range s.Names {
				if i < len(s.Values) {
					if lit, ok := s.Values[i].(*ast.BasicLit); ok {
						p.consts[n.Name] = unquote(lit)
					}
				}
			}
		}
	}
}

func unquote(lit *ast.BasicLit) string {
	if lit.Kind == token.STRING {
		if s, err := strconv.Unquote(lit.Value); err == nil {
			return s
		}
	}
	return lit.Value
}

func (p *pkg) collectFunc(fd *ast.FuncDecl) {
	name := fd.Name.Name
	// Possible<Enum>Values() []<Enum> { return []<Enum>{A, B, ...} }
	if fd.Recv == nil && strings.HasPrefix(name, "Possible") && strings.HasSuffix(name, "Values") && fd.Body != nil {
		enum := strings.TrimSuffix(strings.TrimPrefix(name, "Possible"), "Values")
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			var vals []string
			for _, e := range cl.Elts {
				switch e := e.(type) {
				case *ast.Ident:
					if v, ok := p.consts[e.Name]; ok {
						vals = append(vals, v)
					}
				case *ast.BasicLit:
					vals = append(vals, unquote(e))
				}
			}
			p.enums[enum] = vals
			return false
		})
		return
	}
	if fd.Recv == nil || len(fd.Recv.List) != 1 || fd.Body == nil {
		return
	}
	recvType := fd.Recv.List[0].Type
	if st, ok := recvType.(*ast.StarExpr); ok {
		recvType = st.X
	}
	id, ok := recvType.(*ast.Ident)
	if !ok || len(fd.Recv.List[0].Names) == 0 {
		return
	}
	model, recv := id.Name, fd.Recv.List[0].Names[0].Name
	fieldOf := func(e ast.Node) string {
		var found string
		ast.Inspect(e, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == recv && found == "" {
					found = sel.Sel.Name
				}
			}
			return found == ""
		})
		return found
	}
	set := func(field, json string) {
		if p.jsonNames[model] == nil {
			p.jsonNames[model] = map[string]string{}
		}
		if _, done := p.jsonNames[model][field]; !done {
			p.jsonNames[model][field] = json
		}
	}
	switch name {
	case "MarshalJSON":
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				// populate(objectMap, "json", m.Field) and populateXxx(objectMap, "json", m.Field, ...)
				if len(n.Args) >= 3 {
					if lit, ok := n.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if f := fieldOf(n.Args[2]); f != "" {
							set(f, unquote(lit))
						}
					}
				}
			case *ast.AssignStmt:
				// objectMap["json"] = m.Field
				if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
					if ix, ok := n.Lhs[0].(*ast.IndexExpr); ok {
						if lit, ok := ix.Index.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if f := fieldOf(n.Rhs[0]); f != "" {
								set(f, unquote(lit))
							}
						}
					}
				}
			}
			return true
		})
	case "UnmarshalJSON":
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			cc, ok := n.(*ast.CaseClause)
			if !ok || len(cc.List) != 1 {
				return true
			}
			lit, ok := cc.List[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			for _, st := range cc.Body {
				if f := fieldOf(&ast.BlockStmt{List: []ast.Stmt{st}}); f != "" {
					set(f, unquote(lit))
					break
				}
			}
			return true
		})
	}
}

// request is what the PUT request builder of one client says.
type request struct {
	Method         string
	Query          []QueryParam
	File           string
	APIVersion     string
	APIVersionLine int
	PathTemplate   string
	PathConsts     map[string]string
	Body           string
}

func (p *pkg) request(client, fn string) (*request, error) {
	for base, f := range p.files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Name.Name != fn || fd.Recv == nil || len(fd.Recv.List) != 1 {
				continue
			}
			st, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
			if !ok {
				continue
			}
			if id, ok := st.X.(*ast.Ident); !ok || id.Name != client {
				continue
			}
			r := &request{File: base, PathConsts: map[string]string{}}
			options := ""
			for _, fld := range fd.Type.Params.List {
				if id, ok := fld.Type.(*ast.Ident); ok {
					if _, isModel := p.structs[id.Name]; isModel {
						r.Body = id.Name
					}
				}
				if st, ok := fld.Type.(*ast.StarExpr); ok {
					if id, ok := st.X.(*ast.Ident); ok && strings.HasSuffix(id.Name, "Options") {
						options = id.Name
					}
				}
			}
			// Some clients take an optional payload in their options (options.Body), not as a
			// parameter: DataCollectionRules, DataCollectionRuleAssociations.
			if r.Body == "" && options != "" {
				if typ, err := p.optionType(options, "Body"); err == nil && strings.HasPrefix(typ, "object:") {
					r.Body = strings.TrimPrefix(typ, "object:")
				}
			}
			var qerr error
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
						if id, ok := n.Lhs[0].(*ast.Ident); ok && id.Name == "urlPath" && n.Tok == token.DEFINE {
							if lit, ok := n.Rhs[0].(*ast.BasicLit); ok {
								r.PathTemplate = unquote(lit)
							}
						}
					}
				case *ast.SelectorExpr:
					// runtime.NewRequest(ctx, http.MethodPut, ...)
					if x, ok := n.X.(*ast.Ident); ok && x.Name == "http" && strings.HasPrefix(n.Sel.Name, "Method") {
						r.Method = strings.ToUpper(strings.TrimPrefix(n.Sel.Name, "Method"))
					}
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					// reqQP.Set("api-version", "YYYY-MM-DD"); reqQP.Set("name", ...options.Field...)
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "reqQP" && sel.Sel.Name == "Set" && len(n.Args) == 2 {
						k, ok := n.Args[0].(*ast.BasicLit)
						if !ok {
							return true
						}
						if unquote(k) == "api-version" {
							switch v := n.Args[1].(type) {
							case *ast.BasicLit:
								r.APIVersion = unquote(v)
								r.APIVersionLine = p.fset.Position(v.Pos()).Line
							case *ast.Ident:
								// TypeSpec-generated modules (armconsumption v2) name the
								// version once: reqQP.Set("api-version", version20240801).
								if c, ok := p.consts[v.Name]; ok {
									r.APIVersion = c
									r.APIVersionLine = p.fset.Position(v.Pos()).Line
								}
							}
							return true
						}
						ast.Inspect(n.Args[1], func(m ast.Node) bool {
							sel, ok := m.(*ast.SelectorExpr)
							if !ok {
								return true
							}
							if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "options" || options == "" {
								return true
							}
							typ, err := p.optionType(options, sel.Sel.Name)
							if err != nil {
								qerr = err
							}
							r.Query = append(r.Query, QueryParam{Name: unquote(k), Go: sel.Sel.Name, Type: typ})
							return false
						})
					}
					// strings.ReplaceAll(urlPath, "{name}", url.PathEscape("constant"))
					if sel.Sel.Name == "ReplaceAll" && len(n.Args) == 3 {
						if k, ok := n.Args[1].(*ast.BasicLit); ok {
							if c, ok := n.Args[2].(*ast.CallExpr); ok && len(c.Args) == 1 {
								if v, ok := c.Args[0].(*ast.BasicLit); ok {
									r.PathConsts[strings.Trim(unquote(k), "{}")] = unquote(v)
								}
							}
						}
					}
				}
				return true
			})
			if qerr != nil {
				return nil, fmt.Errorf("%s.%s in %s: %v", client, fn, base, qerr)
			}
			// A PUT has a body; an invoke (POST list*) may have none.
			if r.APIVersion == "" || r.PathTemplate == "" || r.Method == "" || (r.Method == "PUT" && r.Body == "") {
				return nil, fmt.Errorf("%s.%s in %s: method %q, api-version %q, urlPath %q, body %q: not all found", client, fn, base, r.Method, r.APIVersion, r.PathTemplate, r.Body)
			}
			p.used[base] = true
			return r, nil
		}
	}
	return nil, fmt.Errorf("no func (*%s) %s in %s", client, fn, p.dir)
}

// QueryParam is a query parameter other than api-version, set from the options struct.
type QueryParam struct {
	Name string `json:"name"`
	Go   string `json:"go"`
	Type string `json:"type"`
}

func (p *pkg) optionType(options, field string) (string, error) {
	st, ok := p.structs[options]
	if !ok {
		return "", fmt.Errorf("options type %s not found", options)
	}
	for _, fl := range st.Fields.List {
		for _, n := range fl.Names {
			if n.Name == field {
				typ, _, err := p.contractType(fl.Type)
				return typ, err
			}
		}
	}
	return "", fmt.Errorf("%s has no field %s", options, field)
}

// Field and Model are the contract's shape, as written to the data files.
type Field struct {
	JSON     string `json:"json"`
	Go       string `json:"go"`
	Type     string `json:"type"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	Required bool   `json:"required,omitempty"`
}

type Model struct {
	Fields []Field `json:"fields"`
	// AdditionalProperties: the model also takes keys outside its schema (the SDK's
	// AdditionalProperties map, from the spec's additionalProperties).
	AdditionalProperties bool `json:"additionalProperties,omitempty"`
}

// models walks every model reachable from root and adds it (and the enums it uses) to out.
func (p *pkg) models(root string, out map[string]Model, enums map[string][]string) error {
	if _, done := out[root]; done {
		return nil
	}
	st, ok := p.structs[root]
	if !ok {
		return fmt.Errorf("model %s not found", root)
	}
	m := Model{Fields: []Field{}}
	out[root] = m
	var next []string
	for _, fl := range st.Fields.List {
		if len(fl.Names) == 0 {
			return fmt.Errorf("model %s: embedded field not supported", root)
		}
		doc := ""
		if fl.Doc != nil {
			doc = fl.Doc.Text()
		}
		for _, n := range fl.Names {
			// The SDK's catch-all for keys outside the schema: no JSON name of its own.
			if n.Name == "AdditionalProperties" && strings.Contains(doc, "additional key/value pairs not defined in the schema") {
				m.AdditionalProperties = true
				continue
			}
			json, ok := p.jsonNames[root][n.Name]
			if !ok {
				return fmt.Errorf("model %s field %s: no JSON name in MarshalJSON/UnmarshalJSON", root, n.Name)
			}
			typ, refs, err := p.contractType(fl.Type)
			if err != nil {
				return fmt.Errorf("model %s field %s: %v", root, n.Name, err)
			}
			next = append(next, refs...)
			m.Fields = append(m.Fields, Field{JSON: json, Go: n.Name, Type: typ,
				ReadOnly: strings.Contains(doc, "READ-ONLY;"), Required: strings.Contains(doc, "REQUIRED;")})
		}
	}
	sort.Slice(m.Fields, func(i, j int) bool { return m.Fields[i].JSON < m.Fields[j].JSON })
	out[root] = m
	for _, r := range next {
		if strings.HasPrefix(r, "enum:") {
			e := strings.TrimPrefix(r, "enum:")
			enums[e] = p.enums[e]
			continue
		}
		if err := p.models(r, out, enums); err != nil {
			return err
		}
	}
	return nil
}

// contractType maps a Go field type to the contract's type grammar:
// string|int|float|bool|time|any|enum:<Name>|object:<Model>|[]<type>|map:<type>.
func (p *pkg) contractType(e ast.Expr) (string, []string, error) {
	switch t := e.(type) {
	case *ast.StarExpr:
		return p.contractType(t.X)
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && id.Name == "byte" {
			return "string", nil, nil // []byte is base64 in JSON
		}
		el, refs, err := p.contractType(t.Elt)
		return "[]" + el, refs, err
	case *ast.MapType:
		el, refs, err := p.contractType(t.Value)
		return "map:" + el, refs, err
	case *ast.InterfaceType:
		return "any", nil, nil
	case *ast.SelectorExpr:
		if x, ok := t.X.(*ast.Ident); ok && x.Name == "time" && t.Sel.Name == "Time" {
			return "time", nil, nil
		}
		return "", nil, fmt.Errorf("unsupported type %s.%s", t.X, t.Sel.Name)
	case *ast.Ident:
		switch t.Name {
		case "string":
			return "string", nil, nil
		case "int", "int32", "int64":
			return "int", nil, nil
		case "float32", "float64":
			return "float", nil, nil
		case "bool":
			return "bool", nil, nil
		case "any":
			return "any", nil, nil
		}
		if _, ok := p.structs[t.Name]; ok {
			return "object:" + t.Name, []string{t.Name}, nil
		}
		if _, ok := p.enums[t.Name]; ok {
			return "enum:" + t.Name, []string{"enum:" + t.Name}, nil
		}
		if u, ok := p.named[t.Name]; ok {
			if _, isIface := u.(*ast.InterfaceType); isIface {
				return "any", nil, nil // a polymorphic (discriminated) model: not modelled
			}
			return p.contractType(u)
		}
		return "", nil, fmt.Errorf("unknown type %s", t.Name)
	}
	return "", nil, fmt.Errorf("unsupported type expression %T", e)
}

func readFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
