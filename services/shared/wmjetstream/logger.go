package wmjetstream

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// Logger adapts a slog logger for Watermill. Watermill's per-message Info
// lines go to Debug, its Trace lines to a level below Debug, and a line
// whose level is off costs nothing: its fields are not even converted.
func Logger(l *slog.Logger) watermill.LoggerAdapter { return logger{l: l} }

// levelTrace is below slog.LevelDebug, as in Watermill's own adapter.
const levelTrace = slog.LevelDebug - 4

type logger struct {
	l      *slog.Logger
	fields watermill.LogFields
}

func (a logger) Error(msg string, err error, fields watermill.LogFields) {
	if !a.l.Enabled(context.Background(), slog.LevelError) {
		return
	}
	attrs := a.attrs(fields)
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	a.l.LogAttrs(context.Background(), slog.LevelError, msg, attrs...)
}

func (a logger) Info(msg string, fields watermill.LogFields) {
	a.log(slog.LevelDebug, msg, fields)
}

func (a logger) Debug(msg string, fields watermill.LogFields) {
	a.log(slog.LevelDebug, msg, fields)
}

func (a logger) Trace(msg string, fields watermill.LogFields) {
	a.log(levelTrace, msg, fields)
}

func (a logger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return logger{l: a.l, fields: a.fields.Add(fields)}
}

func (a logger) log(level slog.Level, msg string, fields watermill.LogFields) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	a.l.LogAttrs(context.Background(), level, msg, a.attrs(fields)...)
}

func (a logger) attrs(fields watermill.LogFields) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(a.fields)+len(fields)+1)
	for k, v := range a.fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	for k, v := range fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	return attrs
}
