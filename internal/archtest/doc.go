// Package archtest holds no code: its tests check the package rules of
// DESIGN.md ("arrows point down only") on the imports of every package,
// and that the facts internal/kmsemu keeps of its own (it imports no other
// package of kmsrotor) agree with internal/kmskey's.
package archtest
