package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/incidentflow/incidentflow/channels"
	"github.com/incidentflow/incidentflow/dsl"
)

// discard drops console lines: validate delivers nothing.
type discard struct{}

func (discard) Println(string) {}

// validate checks a process directory (default: the built-in processes), or
// one process file with the directory.yaml beside it, and prints every problem
// as file:line:col: message. It exits 1 on any error.
func (e environment) validate(args []string) error {
	f := e.flags("validate", "Checks the process files and directory.yaml in DIR (default: the built-in processes), or the\n"+
		"one process FILE with the directory.yaml beside it, printing every problem as\n"+
		"file:line:col: message. Exits 1 when there is an error.\n\n"+
		"  incidentflow validate processes\n  incidentflow validate processes/privacy.yaml")
	if err := f.parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 1 {
		fmt.Fprintln(e.stderr, "incidentflow validate takes at most one folder or file")
		return exitCode(2)
	}
	cat, err := loadCatalog(f.fs.Arg(0))
	var problems dsl.Problems
	if errors.As(err, &problems) {
		fmt.Fprintln(e.stdout, problems.Error())
		errs := len(problems.Errors())
		fmt.Fprintf(e.stdout, "%d error(s), %d warning(s)\n", errs, len(problems)-errs)
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	for _, w := range cat.Warnings {
		fmt.Fprintln(e.stdout, w.String())
	}
	// The same check the worker makes at start-up: secrets the directory names
	// but this environment lacks.
	_, missing := channels.Build(cat.Directory, channels.Config{Console: discard{}, Getenv: e.getenv})
	for _, err := range missing {
		fmt.Fprintf(e.stdout, "%s: warning: %v\n", dsl.DirectoryFile, err)
	}
	fmt.Fprintf(e.stdout, "ok: %d process(es) valid (%s)\n", len(cat.Processes), strings.Join(cat.Types(), ", "))
	return nil
}
