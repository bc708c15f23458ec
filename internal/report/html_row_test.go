package report

import (
	"bufio"
	"bytes"
	"html/template"
	"testing"
)

// rowTemplate is the findings row as html/template would write it; the
// hand-written htmlRow.write must give the same bytes, so its escaping is
// html/template's.
var rowTemplate = template.Must(template.New("row").Parse(`<tr data-status="{{.F.Status}}" data-id="{{.ID}}"{{if .F.Muted}} class="muted"{{end}}><td class="status">{{.F.Status}}{{if .F.Muted}} (muted){{end}}</td><td class="mono">{{.F.AccountID}}</td><td>{{.F.Region}}</td><td class="mono">{{.Key}}</td><td>{{range .F.Aliases}}<span class="mono">{{.}}</span><br>{{end}}{{range .Tags}}<span class="tag">{{.}}</span>{{end}}</td><td data-v="{{.Period}}">{{.Period}}</td><td data-v="{{.Next}}">{{.Next}}</td><td data-v="{{.Last}}">{{.Last}}{{with .F.Rotation.LastRotationType}} ({{.}}){{end}}</td><td>{{.F.Reason}}</td><td>{{.F.Message}}{{if .Fix}}<details><summary>risk and remediation</summary><p><b>{{.R.Title}}.</b> {{.R.Description}}</p><p><b>Risk:</b> {{.R.Risk}}</p><p>{{.R.Remediation}}</p>{{with .R.Console}}<p><b>Console:</b> {{.}}</p>{{end}}{{with .R.CLI}}<p><b>CLI:</b></p><pre>{{.}}</pre>{{end}}{{with .R.CloudFormation}}<p><b>CloudFormation</b> (AWS::KMS::Key Properties):</p><pre>{{.}}</pre>{{end}}{{with .R.Terraform}}<p><b>Terraform</b> (aws_kms_key):</p><pre>{{.}}</pre>{{end}}<p><a href="{{.R.URL}}" rel="noreferrer">{{.R.URL}}</a></p></details>{{end}}</td></tr>` + "\n"))

func TestHTMLRowMatchesTemplate(t *testing.T) {
	s := NewHTML(nil, Options{}).(*htmlSink)
	for _, doc := range []*Document{hostileFormatsDoc(), liveDoc(), iacDoc()} {
		s.head.Scan = doc.Scan
		for i := range doc.Findings {
			f := &doc.Findings[i]
			f.Aliases = append(f.Aliases, "a+b\x00<'\"&>")
			row := s.row(f)
			var want, got bytes.Buffer
			if err := rowTemplate.Execute(&want, row); err != nil {
				t.Fatal(err)
			}
			w := bufio.NewWriter(&got)
			row.write(w)
			w.Flush()
			if got.String() != want.String() {
				t.Errorf("finding %s: row differs from html/template's\ngot:  %s\nwant: %s", f.KeyID, got.String(), want.String())
			}
		}
	}
}
