// A stand-in for monis.app/mlog, which the Go module proxy here does not serve (every version
// answers 403). The webhook uses only a small logging surface of it; this module provides that
// surface on go-logr's funcr, writing to stderr. The mutation logic built with it is upstream's.
module monis.app/mlog

go 1.23

require github.com/go-logr/logr v1.4.2
