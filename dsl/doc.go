// Package dsl is the incidentflow process language: it loads process files and the
// org directory from YAML (keeping line and column of every node), validates them,
// and compiles their CEL conditions, message templates and durations.
//
// It is pure: it must never import Temporal, a database, the network or any other
// incidentflow package. Everyone imports it.
package dsl
