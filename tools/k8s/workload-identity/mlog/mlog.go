// Package mlog provides the part of monis.app/mlog's API that the Azure Workload Identity
// webhook (cmd/webhook, pkg/webhook at v1.5.1) calls, so the webhook can be built here: logs go
// to stderr through go-logr's funcr. Levels map to logr verbosity as in mlog: info 0,
// debug 2, trace 4, all 100.
package mlog

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// LogLevel names a verbosity.
type LogLevel string

// LogFormat names an output format; only the field is kept, funcr writes JSON.
type LogFormat string

// LogSpec is the level and format the process logs with.
type LogSpec struct {
	Level  LogLevel  `json:"level,omitempty"`
	Format LogFormat `json:"format,omitempty"`
}

// The levels and formats the webhook names.
const (
	LevelWarning LogLevel = "warning"
	LevelInfo    LogLevel = "info"
	LevelDebug   LogLevel = "debug"
	LevelTrace   LogLevel = "trace"
	LevelAll     LogLevel = "all"

	FormatJSON LogFormat = "json"
	FormatCLI  LogFormat = "cli"
)

var verbosity = map[LogLevel]int{"": 0, LevelWarning: 0, LevelInfo: 0, LevelDebug: 2, LevelTrace: 4, LevelAll: 100}

// current is the process-wide verbosity, as in mlog.
var current atomic.Int32

// ValidateAndSetLogLevelAndFormatGlobally sets the verbosity; an unknown level is an error.
func ValidateAndSetLogLevelAndFormatGlobally(_ context.Context, spec LogSpec) error {
	v, ok := verbosity[spec.Level]
	if !ok {
		return fmt.Errorf("unknown log level %q", spec.Level)
	}
	current.Store(int32(v))
	return nil
}

// Enabled tells whether messages of the level are logged.
func Enabled(level LogLevel) bool {
	v, ok := verbosity[level]
	return ok && int32(v) <= current.Load()
}

// Setup returns the flush function mlog's callers defer; funcr does not buffer.
func Setup() func() { return func() {} }

// Logr is the process logger as a logr.Logger.
func Logr() logr.Logger {
	return funcr.NewJSON(func(obj string) { fmt.Fprintln(os.Stderr, obj) }, funcr.Options{
		LogTimestamp: true,
		Verbosity:    int(current.Load()),
	})
}

// Fatal logs err and exits with status 1.
func Fatal(err error, keysAndValues ...any) {
	Logr().Error(err, "fatal", keysAndValues...)
	os.Exit(1)
}

// Logger is mlog's logger: a logr.Logger with error-first helpers.
type Logger struct{ l logr.Logger }

// New returns the process logger.
func New() Logger { return Logger{Logr()} }

func (l Logger) WithName(name string) Logger            { return Logger{l.l.WithName(name)} }
func (l Logger) WithValues(kv ...any) Logger            { return Logger{l.l.WithValues(kv...)} }
func (l Logger) Info(msg string, kv ...any)             { l.l.Info(msg, kv...) }
func (l Logger) Warning(msg string, kv ...any)          { l.l.Info(msg, append(kv, "warning", true)...) }
func (l Logger) Debug(msg string, kv ...any)            { l.l.V(2).Info(msg, kv...) }
func (l Logger) Error(msg string, err error, kv ...any) { l.l.Error(err, msg, kv...) }
