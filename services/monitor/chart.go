package monitor

import (
	"fmt"
	"time"
)

// chart is the Overzicht's bar chart of events per type per hour, drawn as
// SVG by the template.
type chart struct {
	Width, Height int
	Bars          []bar
	Legend        []legendItem
	Max           int
	Total         int
	// Ticks label every sixth hour.
	Ticks []tick
}

type bar struct {
	X, W     int
	Segments []segment
	Title    string
}

type segment struct {
	Y, H  int
	Color string
}

type legendItem struct {
	Type  string
	Color string
	Count int
}

type tick struct {
	X     int
	Label string
}

// palette has colours that stay apart for colour-blind readers.
var palette = []string{"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999999"}

const (
	chartW, chartH = 720, 160
	chartTop       = 8
)

func newChart(hours []time.Time, counts []map[string]int, types []string, loc *time.Location) chart {
	c := chart{Width: chartW, Height: chartH + 20}
	colors := map[string]string{}
	for i, t := range types {
		colors[t] = palette[i%len(palette)]
		c.Legend = append(c.Legend, legendItem{Type: t, Color: colors[t]})
	}
	for _, cs := range counts {
		sum := 0
		for t, n := range cs {
			sum += n
			for i := range c.Legend {
				if c.Legend[i].Type == t {
					c.Legend[i].Count += n
				}
			}
		}
		c.Total += sum
		c.Max = max(c.Max, sum)
	}
	if len(hours) == 0 {
		return c
	}
	slot := chartW / len(hours)
	scale := func(n int) int {
		if c.Max == 0 {
			return 0
		}
		return n * (chartH - chartTop) / c.Max
	}
	for i, h := range hours {
		b := bar{X: i*slot + 2, W: slot - 4}
		y := chartH
		sum := 0
		for _, t := range types {
			n := counts[i][t]
			if n == 0 {
				continue
			}
			sum += n
			hgt := max(scale(n), 1)
			y -= hgt
			b.Segments = append(b.Segments, segment{Y: y, H: hgt, Color: colors[t]})
		}
		local := h.In(loc)
		b.Title = fmt.Sprintf("%s–%s: %d events", local.Format("15:04"), local.Add(time.Hour).Format("15:04"), sum)
		c.Bars = append(c.Bars, b)
		if local.Hour()%6 == 0 {
			c.Ticks = append(c.Ticks, tick{X: i * slot, Label: local.Format("15:04")})
		}
	}
	return c
}
