package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Protocols of OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL that Setup supports.
const (
	ProtocolHTTPProtobuf = "http/protobuf"
	ProtocolGRPC         = "grpc"
)

// ErrProtocol is returned by Setup for an OTLP protocol it cannot export
// with.
var ErrProtocol = errors.New("unsupported OTLP protocol")

// defaultProvider is the global TracerProvider before anything replaced
// it: it delegates to the provider installed later, and without one its
// spans record nothing.
var defaultProvider = otel.GetTracerProvider()

// Setup installs the global TracerProvider of the service named
// serviceName, and the W3C Trace Context propagator, when the environment
// asks for OTLP export: OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_SDK_DISABLED is not
// "true"). The protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else
// OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf; grpc is the other one
// supported. The exporters read the rest (headers, TLS, timeout) from the
// standard OTEL_EXPORTER_OTLP_* variables, the SDK the sampler
// (OTEL_TRACES_SAMPLER) and OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES,
// which take precedence over serviceName.
//
// Without those variables Setup changes nothing and returns a shutdown
// that does nothing. Otherwise shutdown flushes the spans still queued
// and stops the exporter; call it once, before the process ends. Call
// Setup before the services' New, which take the global provider. The
// error wraps ErrProtocol for a protocol other than the two above.
func Setup(ctx context.Context, serviceName string) (shutdown func(context.Context) error, err error) {
	nop := func(context.Context) error { return nil }
	if !exportConfigured() {
		return nop, nil
	}
	exp, err := newExporter(ctx, protocol())
	if err != nil {
		return nop, err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if err != nil && res == nil {
		_ = exp.Shutdown(ctx)
		return nop, fmt.Errorf("telemetry: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return tp.Shutdown, nil
}

// exportConfigured reports whether the environment names an OTLP endpoint
// for traces.
func exportConfigured() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// protocol returns the OTLP protocol for traces the environment asks for.
func protocol() string {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := strings.TrimSpace(os.Getenv(name)); v != "" {
			return v
		}
	}
	return ProtocolHTTPProtobuf
}

func newExporter(ctx context.Context, proto string) (sdktrace.SpanExporter, error) {
	switch proto {
	case ProtocolHTTPProtobuf:
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP over HTTP: %w", err)
		}
		return exp, nil
	case ProtocolGRPC:
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP over gRPC: %w", err)
		}
		return exp, nil
	}
	return nil, fmt.Errorf("telemetry: OTEL_EXPORTER_OTLP_PROTOCOL %q: %w; use %s or %s", proto, ErrProtocol, ProtocolHTTPProtobuf, ProtocolGRPC)
}

// Active reports whether spans of tp can record: false for nil, the no-op
// provider, and the global default while nothing was installed over it.
// A service checks it once and skips all tracing work when it is false.
func Active(tp trace.TracerProvider) bool {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return false
	}
	if tp == defaultProvider {
		return otel.GetTracerProvider() != defaultProvider
	}
	return true
}

// Tracer returns the tracer of the ketenbus package pkg (e.g. "gateway")
// on tp, or nil when tp is not Active: a service holding a nil tracer
// does no tracing work at all.
func Tracer(tp trace.TracerProvider, pkg string) trace.Tracer {
	if !Active(tp) {
		return nil
	}
	return tp.Tracer(scopePrefix + pkg)
}

const scopePrefix = "github.com/ketenbus/ketenbus/services/"

// Start is Setup for a process: its error says what to change, and stop
// flushes the spans still queued, within 5 seconds, logging a failure to
// logger.
func Start(ctx context.Context, serviceName string, logger *slog.Logger) (stop func(), err error) {
	shutdown, err := Setup(ctx, serviceName)
	if err != nil {
		return func() {}, fmt.Errorf("tracing: %w (set OTEL_EXPORTER_OTLP_PROTOCOL to http/protobuf or grpc, or unset OTEL_EXPORTER_OTLP_ENDPOINT)", err)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(sctx); err != nil {
			logger.Warn("flushing traces failed", slog.String("error", err.Error()))
		}
	}, nil
}
