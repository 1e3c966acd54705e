package monitor_test

import "os"

// testRegion is testdata/region.yaml: "{ggz}" and "{zvh}" stand for the
// partners' webhook URLs. The dashboard's whole-system tests in
// tools/e2e/dashboard run the same region with every service.
var testRegion = func() string {
	b, err := os.ReadFile("testdata/region.yaml")
	if err != nil {
		panic("read the monitor's test region: " + err.Error())
	}
	return string(b)
}()
