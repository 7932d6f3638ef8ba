package dsl

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// Facts are what conditions and templates see of an incident at one moment.
type Facts struct {
	Ref            string
	Type           string
	Title          string
	Severity       string
	Status         string
	Summary        string
	DeclaredAt     time.Time
	Acknowledged   bool
	AcknowledgedBy string
	// Fields hold every declared field, normalised to its type (see NormalizeField).
	Fields map[string]any
	// Steps hold the outputs of finished steps with an id.
	Steps map[string]map[string]any
	// Roles map each role to the person id holding it.
	Roles map[string]string
	// Approvals are the approvals (by their number in the run, see
	// ApprovalTarget) an approve link in a message rendered now gives.
	Approvals []int
	// Zone is the calendar's, in which messages write times ({{ when }});
	// UTC when nil.
	Zone *time.Location
}

// stepOutput is one value a finished step offers as steps.<id>.output.<name>,
// typed like a field.
type stepOutput struct{ name, typ string }

// stepOutputs are the outputs each step kind declares, besides "failed",
// which every step has.
var stepOutputs = map[string][]stepOutput{
	"wait":     {{"timed_out", "bool"}, {"signal", "string"}},
	"deadline": {{"met", "bool"}, {"missed", "bool"}, {"due", "time"}},
	"page":     {{"acknowledged", "bool"}, {"by", "string"}, {"outcome", "string"}, {"level", "int"}},
	"approval": {{"approved", "bool"}, {"by", "string"}, {"timed_out", "bool"}},
	"task":     {{"id", "string"}, {"done", "bool"}, {"by", "string"}},
	"review":   {{"at", "time"}, {"held", "bool"}, {"by", "string"}, {"write_up", "string"}},
}

// outputs are the values a finished step with an id offers.
func (s *Step) outputs() []stepOutput {
	out := append([]stepOutput{{"failed", "bool"}}, stepOutputs[s.Kind()]...)
	if s.HTTP != nil {
		out = append(out, stepOutput{"status", "int"})
		for _, name := range slices.Sorted(maps.Keys(s.HTTP.Output)) {
			if name != "status" && name != "failed" { // taken; the validator says so
				out = append(out, stepOutput{name, "dyn"}) // a response field: any JSON value
			}
		}
	}
	return out
}

// Conditions compiles and evaluates the CEL conditions of one process. It caches
// programs by source text; it is not safe for concurrent use (a workflow is single-threaded).
type Conditions struct {
	env      *cel.Env
	process  *Process
	programs map[string]cel.Program
	stepVars []string
	// stepVarTypes maps each steps.<id>.output.<name> variable to its field type.
	stepVarTypes map[string]string
}

// NewConditions builds the CEL environment of p: incident.*, fields.* typed as
// declared, steps.<id>.output.* for steps with ids, status, severity and
// severity_at_least(NAME).
func NewConditions(p *Process) (*Conditions, error) {
	opts := []cel.EnvOption{
		cel.Variable("incident.ref", cel.StringType),
		cel.Variable("incident.type", cel.StringType),
		cel.Variable("incident.title", cel.StringType),
		cel.Variable("incident.severity", cel.StringType),
		cel.Variable("incident.status", cel.StringType),
		cel.Variable("incident.declared_at", cel.TimestampType),
		cel.Variable("incident.acknowledged", cel.BoolType),
		cel.Variable("incident.acknowledged_by", cel.StringType),
		cel.Variable("status", cel.StringType),
		cel.Variable("severity", cel.StringType),
		cel.Function("severity_rank", cel.Overload("severity_rank_string", []*cel.Type{cel.StringType}, cel.IntType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				r := p.SeverityRank(string(v.(types.String)))
				if r < 0 {
					r = len(p.Severities)
				}
				return types.Int(r)
			}))),
		// severity_at_least("major") is true when the severity is major or more severe.
		cel.Macros(cel.GlobalMacro("severity_at_least", 1, func(eh cel.MacroExprFactory, _ ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
			return eh.NewCall(operators.LessEquals,
				eh.NewCall("severity_rank", eh.NewIdent("severity")),
				eh.NewCall("severity_rank", args[0])), nil
		})),
	}
	for _, f := range p.Fields {
		opts = append(opts, cel.Variable("fields."+f.Name, celType(f.Type)))
	}
	for _, r := range p.Roles {
		opts = append(opts, cel.Variable("roles."+r, cel.StringType))
	}
	c := &Conditions{process: p, programs: map[string]cel.Program{}, stepVarTypes: map[string]string{}}
	WalkProcess(p, func(s *Step) {
		if s.ID == "" {
			return
		}
		for _, out := range s.outputs() {
			v := "steps." + s.ID + ".output." + out.name
			opts = append(opts, cel.Variable(v, celType(out.typ)))
			c.stepVars = append(c.stepVars, v)
			c.stepVarTypes[v] = out.typ
		}
	})
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("cel environment for %s: %w", p.Type, err)
	}
	c.env = env
	return c, nil
}

func celType(fieldType string) *cel.Type {
	switch fieldType {
	case "bool":
		return cel.BoolType
	case "int":
		return cel.IntType
	case "number":
		return cel.DoubleType
	case "time":
		return cel.TimestampType
	case "list":
		return cel.ListType(cel.StringType)
	case "dyn":
		return cel.DynType
	}
	return cel.StringType
}

// ExprError is a condition that does not compile; Line and Col are 1-based
// within the expression text.
type ExprError struct {
	Line, Col int
	Message   string
}

func (e *ExprError) Error() string { return e.Message }

// Check compiles expr and type-checks it as a boolean condition, refusing
// too what CEL takes but an author never means (= for ==, a severity
// compared with >=, a status that does not exist…).
func (c *Conditions) Check(expr string) error {
	if i, msg, bad := conditionMistake(expr); bad {
		p := offsetPos(expr, i)
		return &ExprError{Line: p.line, Col: p.col, Message: "condition: " + msg}
	}
	if _, err := c.compile(expr); err != nil {
		return err
	}
	if i, msg, bad := c.literalMistake(expr); bad {
		p := offsetPos(expr, i)
		return &ExprError{Line: p.line, Col: p.col, Message: msg}
	}
	_, err := c.program(expr)
	return err
}

// program is the compiled condition. Running incidents evaluate their
// conditions with it, so what it accepts never narrows: the checks that
// only help authors are Check's.
func (c *Conditions) program(expr string) (cel.Program, error) {
	if prg, ok := c.programs[expr]; ok {
		return prg, nil
	}
	checked, err := c.compile(expr)
	if err != nil {
		return nil, err
	}
	prg, err := c.env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, &ExprError{Line: 1, Col: 1, Message: "condition cannot be used: " + err.Error()}
	}
	c.programs[expr] = prg
	return prg, nil
}

// compile type-checks a condition as the first versions of the language did.
func (c *Conditions) compile(expr string) (*cel.Ast, error) {
	checked, iss := c.env.Compile(expr)
	if iss.Err() != nil {
		e := iss.Errors()[0]
		loc := e.Location
		return nil, &ExprError{Line: loc.Line(), Col: loc.Column() + 1, Message: c.celMessage(expr, e.Message, loc.Line(), loc.Column())}
	}
	if checked.OutputType() != cel.BoolType {
		return nil, &ExprError{Line: 1, Col: 1, Message: notTrueOrFalse(strings.TrimSpace(expr), checked.OutputType().String())}
	}
	if bad := c.unknownSeverityLiteral(expr); bad != "" {
		return nil, &ExprError{Line: 1, Col: 1 + strings.Index(expr, bad), Message: fmt.Sprintf("unknown severity %q in condition%s (severities: %s)", bad, DidYouMean(bad, c.process.Severities), strings.Join(c.process.Severities, ", "))}
	}
	return checked, nil
}

// unknownSeverityLiteral finds severity_at_least("x") with an x the process does not declare.
func (c *Conditions) unknownSeverityLiteral(expr string) string {
	rest := expr
	for {
		i := strings.Index(rest, "severity_at_least(")
		if i < 0 {
			return ""
		}
		rest = rest[i+len("severity_at_least("):]
		arg := strings.TrimSpace(rest[:max(strings.Index(rest, ")"), 0)])
		if len(arg) >= 2 && (arg[0] == '"' || arg[0] == '\'') && arg[len(arg)-1] == arg[0] {
			if s := arg[1 : len(arg)-1]; c.process.SeverityRank(s) < 0 {
				return s
			}
		}
	}
}

// overloadError is CEL's message for an operator applied to the wrong types.
var overloadError = regexp.MustCompile(`^found no matching overload for '([^']+)' applied to '\((.*)\)'$`)

// dottedNameAt reads the qualified name (a.b.c) that starts at a 1-based line
// and 0-based column of expr.
func dottedNameAt(expr string, line, col int) string {
	lines := strings.Split(expr, "\n")
	if line < 1 || line > len(lines) || col < 0 || col >= len(lines[line-1]) {
		return ""
	}
	rest := lines[line-1][col:]
	end := strings.IndexFunc(rest, func(r rune) bool {
		return !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
	if end < 0 {
		end = len(rest)
	}
	return strings.TrimSuffix(rest[:end], ".")
}

func (c *Conditions) unknownName(name string) string {
	known := []string{"incident.ref", "incident.type", "incident.title", "incident.severity", "incident.status",
		"incident.declared_at", "incident.acknowledged", "incident.acknowledged_by", "status", "severity"}
	for _, f := range c.process.Fields {
		known = append(known, "fields."+f.Name)
	}
	for _, r := range c.process.Roles {
		known = append(known, "roles."+r)
	}
	known = append(known, c.stepVars...)
	switch {
	case strings.HasPrefix(name, "fields."):
		return fmt.Sprintf("uses field %q, which the process does not declare%s", strings.TrimPrefix(name, "fields."), DidYouMean(name, known))
	case strings.HasPrefix(name, "roles."):
		return fmt.Sprintf("uses role %q, which the process does not declare%s", strings.TrimPrefix(name, "roles."), DidYouMean(name, known))
	case strings.HasPrefix(name, "steps."):
		return fmt.Sprintf("uses %q, which no earlier step with an id provides%s", name, DidYouMean(name, known))
	}
	return fmt.Sprintf("uses %q, which is not a name the condition knows%s (a word to compare with goes in quotes)", name, DidYouMean(name, known))
}

// Eval evaluates a condition against facts. An expression that failed Check
// fails here with the same error.
func (c *Conditions) Eval(expr string, f Facts) (bool, error) {
	prg, err := c.program(expr)
	if err != nil {
		return false, err
	}
	vars := map[string]any{
		"incident.ref":             f.Ref,
		"incident.type":            f.Type,
		"incident.title":           f.Title,
		"incident.severity":        f.Severity,
		"incident.status":          f.Status,
		"incident.declared_at":     f.DeclaredAt,
		"incident.acknowledged":    f.Acknowledged,
		"incident.acknowledged_by": f.AcknowledgedBy,
		"status":                   f.Status,
		"severity":                 f.Severity,
	}
	for _, def := range c.process.Fields {
		vars["fields."+def.Name] = celValue(def, f.Fields[def.Name])
	}
	for _, r := range c.process.Roles {
		vars["roles."+r] = f.Roles[r] // "" while nobody holds it
	}
	for _, name := range c.stepVars {
		parts := strings.SplitN(name, ".", 4) // steps, id, output, name
		vars[name] = celValue(FieldDef{Type: c.stepVarTypes[name]}, f.Steps[parts[1]][parts[3]])
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("evaluate %q: %w", expr, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: result is not true or false", expr)
	}
	return b, nil
}

// zeroValue is what an unset field without a default reads as in conditions.
func zeroValue(fieldType string) any {
	switch fieldType {
	case "bool":
		return false
	case "int":
		return int64(0)
	case "number":
		return float64(0)
	case "time":
		return time.Time{}
	case "list":
		return []string{}
	}
	return ""
}

// WalkSteps calls fn for every step, nested ones included, in document order.
func WalkSteps(steps []Step, fn func(*Step)) {
	for i := range steps {
		s := &steps[i]
		fn(s)
		for _, nested := range s.nested() {
			WalkSteps(nested, fn)
		}
	}
}

// nested returns the step sequences a step holds.
func (s *Step) nested() [][]Step {
	switch {
	case s.Wait != nil:
		return [][]Step{s.Wait.OnTimeout}
	case s.Steps != nil:
		return [][]Step{s.Steps}
	case s.Parallel != nil:
		return [][]Step{s.Parallel}
	case s.Repeat != nil:
		return [][]Step{s.Repeat.Steps}
	case s.Deadline != nil:
		return [][]Step{s.Deadline.Overdue}
	case s.Approval != nil:
		return [][]Step{s.Approval.OnTimeout}
	}
	return nil
}

// WalkProcess calls fn for every step of p: the main sequence, then each handler's.
func WalkProcess(p *Process, fn func(*Step)) {
	WalkSteps(p.Steps, fn)
	for i := range p.Handlers {
		WalkSteps(p.Handlers[i].Steps, fn)
	}
}
