package region

import (
	"errors"
	"fmt"
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

// ParseFilter compiles a subscription filter, a CESQL expression such as
// "ontvanger = 'politie' AND urgentie = 'hoog'". The error wraps
// ErrInvalidFilter and says where the expression went wrong.
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
