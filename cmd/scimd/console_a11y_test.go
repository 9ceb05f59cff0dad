package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/scimd/scimd/store/storetest"
)

// TestConsoleAccessible reads every console page as served and holds it
// to the accessibility rules the console keeps: the page's language, one
// h1, every form control named (a label for its id, a label around it, or
// aria-label), every button and link with text, every image with alt, no
// tabindex that reorders the keyboard's path, the skip link to the main
// content.
func TestConsoleAccessible(t *testing.T) {
	storetest.EachDSN(t, func(t *testing.T, dsn string) {
		w := newConsoleWorld(t, dsn)
		c := w.signIn(w.bootstrap())
		base := w.srv.URL + "/console/acme"
		pages := []string{"/users", "/users?q=ann", "/users/" + w.ids["ann@example.com"], "/groups", "/connectors",
			"/connectors/okta", "/connectors/okta/requests", "/mapping", "/mapping?connector=okta", "/imports", "/audit"}
		for _, p := range pages {
			res, body := do(t, c, "GET", base+p, nil)
			if res.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", p, res.StatusCode)
				continue
			}
			for _, problem := range a11yProblems(body) {
				t.Errorf("%s: %s", p, problem)
			}
		}
		// The check sees what it is meant to: an unlabelled control.
		if got := a11yProblems(`<html lang="en"><body><a href="#main">Skip</a><main id="main"><h1>x</h1><input id="q"></main></body></html>`); len(got) != 1 {
			t.Errorf("an unlabelled input: %v", got)
		}
	})
}

// a11yProblems lists what a page breaks of the console's rules.
func a11yProblems(page string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	labelFor := map[string]bool{}
	var controls []*html.Node
	h1s, skip := 0, false
	attr := func(n *html.Node, k string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val, true
			}
		}
		return "", false
	}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	inLabel := func(n *html.Node) bool {
		for p := n.Parent; p != nil; p = p.Parent {
			if p.Type == html.ElementNode && p.Data == "label" {
				return true
			}
		}
		return false
	}
	named := func(n *html.Node) bool {
		for _, k := range []string{"aria-label", "aria-labelledby", "title"} {
			if v, ok := attr(n, k); ok && strings.TrimSpace(v) != "" {
				return true
			}
		}
		return false
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		if v, ok := attr(n, "tabindex"); ok && v != "0" && v != "-1" {
			problems = append(problems, "<"+n.Data+"> tabindex="+v+" reorders the keyboard's path")
		}
		switch n.Data {
		case "html":
			if v, _ := attr(n, "lang"); v == "" {
				problems = append(problems, "<html> without lang")
			}
		case "h1":
			h1s++
		case "label":
			if v, ok := attr(n, "for"); ok {
				labelFor[v] = true
			}
		case "input":
			if ty, _ := attr(n, "type"); ty == "hidden" || ty == "submit" || ty == "button" {
				continue
			}
			controls = append(controls, n)
		case "select", "textarea":
			controls = append(controls, n)
		case "button":
			if strings.TrimSpace(text(n)) == "" && !named(n) {
				problems = append(problems, "a <button> without text or aria-label")
			}
		case "a":
			if href, _ := attr(n, "href"); href == "#main" {
				skip = true
			}
			if strings.TrimSpace(text(n)) == "" && !named(n) {
				problems = append(problems, "a link without text or aria-label")
			}
		case "img":
			if _, ok := attr(n, "alt"); !ok {
				problems = append(problems, "an <img> without alt")
			}
		}
	}
	for _, n := range controls {
		id, _ := attr(n, "id")
		if (id != "" && labelFor[id]) || inLabel(n) || named(n) {
			continue
		}
		name, _ := attr(n, "name")
		problems = append(problems, "<"+n.Data+" id="+id+" name="+name+"> has no label")
	}
	if h1s != 1 {
		problems = append(problems, "want one <h1>, have "+strconv.Itoa(h1s))
	}
	if !skip {
		problems = append(problems, "no skip link to #main")
	}
	return problems
}
