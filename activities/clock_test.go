package activities_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Activities read the time through Activities.now, the clock the worker or
// a test gives them, never the machine's: a workflow test runs on its own
// simulated day, and an activity that read today resolved who was on call
// for today instead, so that the tests passed one week and failed the next.
// Nothing in the package may call time.Now but that one method.
func TestActivitiesReadOnlyTheirClock(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	var found []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, name, src, 0)
		require.NoError(t, err)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if ok && fn.Name.Name == "now" && fn.Recv != nil {
				continue // the clock itself
			}
			ast.Inspect(decl, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Now" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" {
						found = append(found, fset.Position(sel.Pos()).String())
					}
				}
				return true
			})
		}
	}
	require.NotEmpty(t, files)
	require.Empty(t, found, "activities read the machine's clock instead of Activities.now")
}
