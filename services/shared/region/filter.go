package region

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/antlr/antlr4/runtime/Go/antlr"
	cesql "github.com/cloudevents/sdk-go/sql/v2"
	"github.com/cloudevents/sdk-go/sql/v2/gen"
	cesqlparser "github.com/cloudevents/sdk-go/sql/v2/parser"
	cesqlruntime "github.com/cloudevents/sdk-go/sql/v2/runtime"
)

// ErrInvalidFilter is returned (wrapped) by ParseFilter for an expression
// that is not valid CESQL.
var ErrInvalidFilter = errors.New("not a valid CESQL expression")

// ParseFilter compiles a subscription filter, a CESQL expression over the
// event's context attributes such as
// "ontvanger = 'politie' AND source LIKE 'urn:nld:oin:%'". The error wraps
// ErrInvalidFilter and says where the expression went wrong. It checks the
// syntax only; which attributes a filter may name is the region's rule
// (see FilterAttributes), checked by Load.
//
// Use it rather than the CESQL parser directly: the parser panics on some
// invalid input (such as "ontvanger = " or "a == b") and its own errors do
// not say what is wrong; ParseFilter checks the syntax first and reports the
// column and the token it did not expect, and rejects calls of functions
// that do not exist (which the parser accepts and every evaluation fails).
func ParseFilter(expr string) (cesql.Expression, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("%w: the expression is empty", ErrInvalidFilter)
	}
	if msgs := syntaxErrors(expr); len(msgs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidFilter, strings.Join(msgs, "; "))
	}
	return parseRecovered(expr)
}

// syntaxErrors runs the CESQL lexer and parser generated from the grammar
// with listeners that collect what went wrong, where, and checks that every
// function called exists with that number of arguments.
func syntaxErrors(expr string) []string {
	listener := &collectingListener{}
	lexer := gen.NewCESQLParserLexer(cesqlparser.NewCaseChangingStream(antlr.NewInputStream(expr), true))
	lexer.RemoveErrorListeners()
	lexer.AddErrorListener(listener)
	parser := gen.NewCESQLParserParser(antlr.NewCommonTokenStream(lexer, antlr.TokenDefaultChannel))
	parser.RemoveErrorListeners()
	parser.AddErrorListener(listener)
	tree := parser.Cesql()
	if len(listener.msgs) > 0 {
		return listener.msgs
	}
	return unknownFunctions(tree, nil)
}

// unknownFunctions reports every function invocation in the parse tree
// that the CESQL runtime cannot resolve; evaluating it would fail on every
// event.
func unknownFunctions(t antlr.Tree, msgs []string) []string {
	if call, ok := t.(*gen.FunctionInvocationExpressionContext); ok {
		name := call.FunctionIdentifier().GetText()
		args := 0
		if params, ok := call.FunctionParameterList().(*gen.FunctionParameterListContext); ok {
			args = len(params.AllExpression())
		}
		if cesqlruntime.ResolveFunction(name, args) == nil {
			start := call.GetStart().GetColumn() + 1
			plural := "s"
			if args == 1 {
				plural = ""
			}
			msgs = append(msgs, fmt.Sprintf("column %d: there is no function %s with %d argument%s", start, strings.ToUpper(name), args, plural))
		}
	}
	for _, child := range t.GetChildren() {
		msgs = unknownFunctions(child, msgs)
	}
	return msgs
}

// FilterAttributes returns the attributes every subscription filter may
// name, sorted: the CloudEvents context attributes and the extensions
// ketenbus itself sets (afzender, ontvanger; traceparent and tracestate, the W3C
// trace context; sequence, the event's place in EVENTS). The data fields
// are not among them: the router evaluates filters on the attributes
// alone, and sensitive fields are sealed. A region adds the extension
// attributes its partners send with extension_attributes.
func FilterAttributes() []string {
	return []string{"afzender", "datacontenttype", "dataschema", "id", "ontvanger", "sequence", "source",
		"specversion", "subject", "time", "traceparent", "tracestate", "type"}
}

// FilterIdentifier is an attribute a filter names, lower-cased (CESQL
// identifiers are case-insensitive), at the 1-based column of its first
// use.
type FilterIdentifier struct {
	Name   string
	Column int
}

// FilterIdentifiers returns the attributes a filter names (in identifier
// and EXISTS expressions), each once, in order of appearance. The error
// wraps ErrInvalidFilter, as ParseFilter's.
func FilterIdentifiers(expr string) ([]FilterIdentifier, error) {
	if _, err := ParseFilter(expr); err != nil {
		return nil, err
	}
	lexer := gen.NewCESQLParserLexer(cesqlparser.NewCaseChangingStream(antlr.NewInputStream(expr), true))
	lexer.RemoveErrorListeners()
	parser := gen.NewCESQLParserParser(antlr.NewCommonTokenStream(lexer, antlr.TokenDefaultChannel))
	parser.RemoveErrorListeners()
	var out []FilterIdentifier
	var walk func(t antlr.Tree)
	walk = func(t antlr.Tree) {
		if id, ok := t.(*gen.IdentifierContext); ok {
			name := strings.ToLower(id.GetText())
			if !slices.ContainsFunc(out, func(f FilterIdentifier) bool { return f.Name == name }) {
				out = append(out, FilterIdentifier{Name: name, Column: id.GetStart().GetColumn() + 1})
			}
		}
		for _, child := range t.GetChildren() {
			walk(child)
		}
	}
	walk(parser.Cesql())
	return out, nil
}

type collectingListener struct {
	*antlr.DefaultErrorListener
	msgs []string
}

func (l *collectingListener) SyntaxError(_ antlr.Recognizer, _ any, _, column int, msg string, _ antlr.RecognitionException) {
	// The stream is upper-cased for the keywords; the message quotes the
	// input upper-cased, which is still recognisable.
	l.msgs = append(l.msgs, fmt.Sprintf("column %d: %s", column+1, msg))
}

// parseRecovered runs the CESQL parser, turning a panic inside it into an
// error.
func parseRecovered(expr string) (e cesql.Expression, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, fmt.Errorf("%w: the parser failed on it (%v)", ErrInvalidFilter, r)
		}
	}()
	e, err = cesqlparser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidFilter, err)
	}
	if e == nil {
		return nil, fmt.Errorf("%w: the parser returned no expression", ErrInvalidFilter)
	}
	return e, nil
}
