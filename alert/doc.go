// Package alert holds the alert object of language.md §4: what a match or a
// timed-out partial match produces, its JSON form (one NDJSON line, keys in a
// fixed order) and its deterministic id.
//
// It does not decide when an alert is raised, dedupe or store alerts, or
// deliver them; those belong to nfa, checkpoint and api.
package alert
