package api

import (
	"html/template"
	"net/http"
	"time"
)

var statusTmpl = template.Must(template.New("status").Funcs(template.FuncMap{
	"evtime": func(ns int64) string {
		if t := eventTime(ns); t != nil {
			return t.AsTime().UTC().Format(time.RFC3339Nano)
		}
		return "-"
	},
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Motif {{.ID}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f4f4f4}</style></head>
<body><h1>Motif node {{.ID}}</h1>
<p>{{if .Running}}matching{{else}}<b>not running</b>{{end}}{{if .Counters.Held}} · <b>input held back: the alert sink is behind</b>{{end}} · last alert seq {{.Counters.LastAlertSeq}} · <a href="/metrics">metrics</a></p>
<h2>Partitions</h2>
<table><tr><th>source</th><th>partition</th><th>offset</th><th>end</th><th>lag</th><th>watermark</th><th>idle</th><th>paused</th></tr>
{{range .Partitions}}<tr><td>{{.Source}}</td><td>{{.Partition}}</td><td>{{.Offset}}</td><td>{{.End}}</td><td>{{.Lag}}</td><td>{{evtime .Watermark}}</td><td>{{if .Idle}}yes{{else}}no{{end}}</td><td>{{if .Paused}}yes{{else}}no{{end}}</td></tr>{{end}}
</table>
<h2>Patterns</h2>
<table><tr><th>name</th><th>version</th><th>state</th><th>partial matches</th><th>state bytes</th></tr>
{{range .Patterns}}<tr><td>{{.Name}}</td><td>{{.Version}}</td><td>{{.State}}</td><td>{{.PartialMatches}}</td><td>{{.StateBytes}}</td></tr>{{else}}<tr><td colspan="5">none applied</td></tr>{{end}}
</table>
<h2>Counters</h2>
<table>
<tr><td>events matched</td><td>{{.Counters.Events}}</td></tr>
<tr><td>time busy matching</td><td>{{.Counters.Busy}}</td></tr>
<tr><td>events late</td><td>{{.Counters.Late}}</td></tr>
<tr><td>events invalid (matching / publish)</td><td>{{.Counters.Invalid}} / {{.Counters.Rejected}}</td></tr>
<tr><td>events published / duplicates</td><td>{{.Counters.Published}} / {{.Counters.Duplicates}}</td></tr>
<tr><td>alerts</td><td>{{.Counters.Alerts}}</td></tr>
<tr><td>commits (failed)</td><td>{{.Counters.Commits}} ({{.Counters.CommitFailures}})</td></tr>
<tr><td>checkpoints (failed)</td><td>{{.Counters.Checkpoints}} ({{.Counters.CheckpointFailures}})</td></tr>
</table>
<h2>Checkpoints</h2>
{{with .LastCheckpoint}}<p>last: #{{.ID}} at {{.Created.UTC.Format "2006-01-02T15:04:05Z07:00"}}, {{.Duration}}, {{.Size}} bytes</p>{{else}}<p>none yet</p>{{end}}
{{range .Savepoints}}<p>savepoint {{.Name}}: #{{.ID}} at {{.Created.UTC.Format "2006-01-02T15:04:05Z07:00"}}</p>{{end}}
</body></html>
`))

// statusPage is the node at a glance, for a person with a browser.
func (s *Server) statusPage(w http.ResponseWriter, r *http.Request) {
	st, err := s.node.Status()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusTmpl.Execute(w, st); err != nil {
		s.opts.Logger.Warn("status page", "err", err)
	}
}
