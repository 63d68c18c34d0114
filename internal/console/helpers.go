package console

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firstmate-oss/firstmate/internal/cron"
)

var funcs = template.FuncMap{
	"str":  str,
	"num":  num,
	"list": asList,
	"strs": strs,
	"ts":   ts,
	"date": func(v any) string {
		t, err := time.Parse(time.RFC3339Nano, str(v))
		if err != nil {
			return str(v)
		}
		return t.UTC().Format("2006-01-02")
	},
	"json":  prettyJSON,
	"lower": strings.ToLower,
	"cell":  cell,
	"pct": func(used, max any) float64 {
		m := num(max)
		if m <= 0 {
			return 0
		}
		return math.Min(100, 100*num(used)/m)
	},
	"fmtn":      fmtn,
	"label":     label,
	"override":  override,
	"firstLine": firstLine,
	"eq2":       func(a, b any) bool { return str(a) == str(b) },
	"has":       func(m map[string]any, k string) bool { _, ok := m[k]; return ok },
	"get":       func(m map[string]any, k string) any { return m[k] },
	"terminal":  func(s any) bool { return terminal[str(s)] },
	"color":     color,
	"qs":        func(v url.Values, k string) string { return v.Get(k) },
	"add":       func(a, b int) int { return a + b },
}

// fmtn shows a figure with thousands separators: 12,345 and 1,234.50.
func fmtn(v any) string {
	if v == nil || str(v) == "" {
		return ""
	}
	f := num(v)
	neg := f < 0
	f = math.Abs(f)
	s := strconv.FormatFloat(f, 'f', 2, 64)
	if f == math.Trunc(f) {
		s = strconv.FormatFloat(f, 'f', 0, 64)
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String() + frac
}

// label is how a status reads to a person: the API's NONE (an identity
// with no integration) is "not connected".
func label(s string) string {
	if s == "NONE" {
		return "not connected"
	}
	return s
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func num(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func asList(v any) []any { l, _ := v.([]any); return l }

func strs(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, str(x))
	}
	return out
}

// ts shows an RFC 3339 time as "2006-01-02 15:04 UTC".
func ts(v any) string {
	s := str(v)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func prettyJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return str(v)
	}
	return string(b)
}

// cell shows an output value in a table cell.
func cell(v any) string {
	switch v.(type) {
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		s := string(b)
		if len(s) > 120 {
			s = s[:117] + "..."
		}
		return s
	}
	return str(v)
}

// columns are the keys of a list of output objects, in first-seen order.
func columns(rows []any) []string {
	seen := map[string]bool{}
	var cols []string
	for _, r := range rows {
		m, _ := r.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	return cols
}

type series struct {
	Name   string
	PerDay []float64
	Total  float64
}

// seriesOf reads the API's series; top > 0 keeps the largest and sums the
// rest as "other".
func seriesOf(v any, top int) []series {
	var out []series
	for _, x := range asList(v) {
		m, _ := x.(map[string]any)
		s := series{Name: str(m["name"]), Total: num(m["total"])}
		for _, d := range asList(m["per_day"]) {
			s.PerDay = append(s.PerDay, num(d))
		}
		out = append(out, s)
	}
	if top > 0 && len(out) > top {
		other := series{Name: "other", PerDay: make([]float64, len(out[0].PerDay))}
		for _, s := range out[top-1:] {
			for i, d := range s.PerDay {
				other.PerDay[i] += d
			}
			other.Total += s.Total
		}
		out = append(out[:top-1], other)
	}
	return out
}

var palette = []string{"#4f7cff", "#2bb673", "#f5a623", "#e5484d", "#8e6cef", "#16a6b6", "#9aa4b2", "#d6409f", "#6e56cf", "#ff8b3e"}

var statusColors = map[string]string{"SUCCEEDED": "#2bb673", "PARTIAL_SUCCEEDED": "#9bcf53", "FAILED": "#e5484d",
	"RUNNING": "#4f7cff", "QUEUED": "#8e6cef", "BLOCKED": "#f5a623", "STOPPED": "#9aa4b2", "INVALID": "#d6409f",
	"CREATED": "#16a6b6", "SCHEDULED": "#6e56cf", "VALID": "#2bb673", "PENDING": "#f5a623", "LIMIT_REACHED": "#ff8b3e",
	"NONE": "#9aa4b2"}

func color(name string, i int) string {
	if c, ok := statusColors[name]; ok {
		return c
	}
	return palette[i%len(palette)]
}

// barChart draws stacked bars per day as SVG. Names are escaped; the SVG
// uses presentation attributes only (no style attribute, for the CSP).
func barChart(days []string, ss []series) template.HTML {
	const w, h, pad, bottom = 640.0, 200.0, 36.0, 24.0
	if len(days) == 0 {
		return ""
	}
	maxv := 0.0
	for i := range days {
		t := 0.0
		for _, s := range ss {
			if i < len(s.PerDay) {
				t += s.PerDay[i]
			}
		}
		maxv = math.Max(maxv, t)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="chart" xmlns="http://www.w3.org/2000/svg">`, w, h)
	bw := (w - pad) / float64(len(days))
	scale := 0.0
	if maxv > 0 {
		scale = (h - bottom - 8) / maxv
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="axis"/>`, pad, h-bottom, w, h-bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="14" class="tick" text-anchor="end">%s</text>`, pad-4, template.HTMLEscapeString(short(maxv)))
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" class="tick" text-anchor="end">0</text>`, pad-4, h-bottom)
	for i, d := range days {
		y := h - bottom
		x := pad + float64(i)*bw + bw*0.15
		for j, s := range ss {
			if i >= len(s.PerDay) || s.PerDay[i] == 0 {
				continue
			}
			bh := s.PerDay[i] * scale
			y -= bh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s</title></rect>`,
				x, y, bw*0.7, bh, color(s.Name, j), template.HTMLEscapeString(d), template.HTMLEscapeString(s.Name), short(s.PerDay[i]))
		}
		if i%2 == 0 || len(days) <= 8 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="tick" text-anchor="middle">%s</text>`, x+bw*0.35, h-6, template.HTMLEscapeString(d[5:]))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// hbarChart draws one horizontal bar per category.
func hbarChart(ss []series) template.HTML {
	const w, row = 640.0, 26.0
	h := row*float64(len(ss)) + 4
	maxv := 0.0
	for _, s := range ss {
		maxv = math.Max(maxv, s.Total)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="chart" xmlns="http://www.w3.org/2000/svg">`, w, math.Max(h, row))
	for i, s := range ss {
		bw := 0.0
		if maxv > 0 {
			bw = (w - 200) * s.Total / maxv
		}
		y := float64(i) * row
		fmt.Fprintf(&b, `<text x="120" y="%.0f" class="tick" text-anchor="end">%s</text>`, y+17, template.HTMLEscapeString(label(s.Name)))
		fmt.Fprintf(&b, `<rect x="128" y="%.0f" width="%.1f" height="18" fill="%s"/>`, y+4, bw, color(s.Name, i))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="tick">%s</text>`, 134+bw, y+17, short(s.Total))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func short(f float64) string {
	if f == math.Trunc(f) {
		return fmtn(f)
	}
	return fmtn(math.Round(f*10) / 10)
}

// nextFirings previews a cron in its zone with the scheduler's own parser.
func nextFirings(expr, tz string, now time.Time, n int) ([]string, string, error) {
	spec, aerr := cron.Parse(expr, "", tz)
	if aerr != nil {
		return nil, "", fmt.Errorf("%s", aerr.Message)
	}
	var out []string
	t := now
	for i := 0; i < n; i++ {
		next, ok := spec.Next(t)
		if !ok {
			break
		}
		out = append(out, next.In(spec.Location).Format("Mon 2006-01-02 15:04 MST"))
		t = next
	}
	return out, describeCron(expr), nil
}

var dows = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// describeCron says a 5-field cron in words, for the common shapes.
func describeCron(expr string) string {
	f := strings.Fields(expr)
	if len(f) != 5 {
		return expr
	}
	min, hour, dom, mon, dow := f[0], f[1], f[2], f[3], f[4]
	var when string
	switch {
	case min == "*" && hour == "*":
		when = "every minute"
	case strings.HasPrefix(min, "*/") && hour == "*":
		when = "every " + min[2:] + " minutes"
	case hour == "*":
		when = "at minute " + min + " of every hour"
	case strings.HasPrefix(hour, "*/"):
		when = "at minute " + min + " of every " + hour[2:] + " hours"
	default:
		if _, err := strconv.Atoi(min); err == nil && !strings.ContainsAny(hour, ",-/") {
			m, _ := strconv.Atoi(min)
			h, _ := strconv.Atoi(hour)
			when = fmt.Sprintf("at %02d:%02d", h, m)
		} else {
			when = "at minute " + min + " past hour " + hour
		}
	}
	day := ""
	switch {
	case dom == "*" && dow == "*":
		day = "every day"
	case dom == "*" && dow == "1-5":
		day = "Monday to Friday"
	case dom == "*":
		var names []string
		for _, d := range strings.Split(dow, ",") {
			if n, err := strconv.Atoi(d); err == nil && n >= 0 && n <= 7 {
				names = append(names, dows[n%7])
			} else {
				names = append(names, d)
			}
		}
		day = "on " + strings.Join(names, ", ")
	default:
		day = "on day " + dom + " of the month"
	}
	if mon != "*" {
		day += " in month " + mon
	}
	return when + ", " + day
}

// outputs streams a run's outputs (CSV or JSON), page by page through the API.
func (c *Console) outputs(format string) func(*req) error {
	return func(q *req) error {
		uid := q.r.PathValue("uid")
		base := "/runs/" + url.PathEscape(uid) + "/outputs?limit=100&offset="
		first, err := q.list(base + "0")
		if err != nil {
			return err
		}
		name := "run-" + strings.Map(func(r rune) rune {
			if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				return r
			}
			return -1
		}, uid) + "-outputs." + format
		q.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		next := func(off int) ([]any, error) {
			if off == 0 {
				return first, nil
			}
			return q.list(base + strconv.Itoa(off))
		}
		if format == "json" {
			q.w.Header().Set("Content-Type", "application/json")
			q.w.Write([]byte("["))
			n := 0
			for off := 0; ; off += 100 {
				rows, err := next(off)
				if err != nil || len(rows) == 0 {
					break
				}
				for _, r := range rows {
					if n > 0 {
						q.w.Write([]byte(","))
					}
					b, _ := json.Marshal(r)
					q.w.Write(b)
					n++
				}
			}
			_, err := q.w.Write([]byte("]\n"))
			return err
		}
		q.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cols := columns(first)
		cw := csv.NewWriter(q.w)
		if err := cw.Write(cols); err != nil {
			return err
		}
		for off := 0; ; off += 100 {
			rows, err := next(off)
			if err != nil || len(rows) == 0 {
				break
			}
			for _, r := range rows {
				m, _ := r.(map[string]any)
				rec := make([]string, len(cols))
				for i, k := range cols {
					rec[i] = csvSafe(cellFull(m[k]))
				}
				if err := cw.Write(rec); err != nil {
					return err
				}
			}
		}
		cw.Flush()
		return cw.Error()
	}
}

func cellFull(v any) string {
	switch v.(type) {
	case map[string]any, []any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return str(v)
}

// csvSafe defuses spreadsheet formulas in scraped text (CSV injection).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// override says the identity's override of a Smart Limit key for a window:
// a number applies to every window, an object to the windows it names.
func override(ov map[string]any, key, window string) string {
	switch v := ov[key].(type) {
	case nil:
		return ""
	case map[string]any:
		if w, ok := v[window]; ok {
			return fmtn(w)
		}
		return ""
	default:
		return fmtn(v)
	}
}

// firstLine is a description's first sentence, at most 140 characters.
func firstLine(s string) string {
	if i := strings.IndexAny(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	if r := []rune(s); len(r) > 140 {
		s = string(r[:139]) + "…"
	}
	return s
}
