package workload

import "math"

// The fraud scenarios Fraud injects, one per pattern of FraudPatterns. Their
// timings leave slack to the patterns' bounds: a scheduled event is written at
// the first line whose clock reaches its time, a few ms late at most.
const (
	scCardTesting = iota
	scImpossibleTravel
	scLoginWithoutMFA
	scAccountTakeover
	scVelocityBurst
	scRefundAbuse
	numScenarios
)

const (
	catElectronics = 7
	catOnline      = 8
	catGiftcards   = 9
)

const (
	second = int64(1000)
	minute = 60 * second
)

// inject starts the next scenario, in turn, on a random card: its events are
// scheduled from the current clock on.
func (g *fraudGen) inject() {
	card := int32(g.rng.IntN(g.keys))
	home := g.homeCity(card)
	t := g.clock
	kind := g.injected % numScenarios
	g.injected++
	switch kind {
	case scCardTesting:
		// 3-5 probes under 2.00 at one online shop, 5-60 s apart, then a
		// purchase over 500 at an electronics shop 10 s-3 min later: < 7 min.
		shop := g.merchantIn(catOnline)
		for i := range 3 + g.rng.IntN(3) {
			if i > 0 {
				t += g.between(5*second, minute)
			}
			g.schedule(t, g.auth(card, home, g.between(50, 199), shop, false))
		}
		t += g.between(10*second, 3*minute)
		g.schedule(t, g.auth(card, home, g.between(50_001, 250_000), g.merchantIn(catElectronics), true))
	case scImpossibleTravel:
		// A payment at home, then one in a city over 1000 km away 1-10 min later.
		g.schedule(t, g.auth(card, home, g.purchaseCents(), g.rng.Int32N(int32(len(merchants))), true))
		far := farCities[home]
		t += g.between(minute, 10*minute)
		g.schedule(t, g.auth(card, far[g.rng.IntN(len(far))], g.purchaseCents(), g.rng.Int32N(int32(len(merchants))), true))
	case scLoginWithoutMFA:
		// A new device logs in; half the time a second factor fails after it.
		g.schedule(t, fev{kind: kLogin, card: card, city: home, device: g.rng.Uint32(), flag: true})
		if g.rng.IntN(2) == 0 {
			g.schedule(t+g.between(10*second, 2*minute), fev{kind: kMFA, card: card})
		}
	case scAccountTakeover:
		// A new device from abroad, a password or e-mail change 30 s-3 min
		// later, then a purchase over 1000 1-5 min after that: < 8 min.
		far := farCities[home]
		g.schedule(t, fev{kind: kLogin, card: card, city: far[g.rng.IntN(len(far))], device: g.rng.Uint32(), flag: true})
		t += g.between(30*second, 3*minute)
		g.schedule(t, fev{kind: kProfileChange, card: card, sub: uint8(g.rng.IntN(len(changeNames)))})
		t += g.between(minute, 5*minute)
		g.schedule(t, g.auth(card, home, g.between(100_001, 500_000), g.merchantIn(catGiftcards), false))
	case scVelocityBurst:
		// 10-15 payments 0.5-3.5 s apart: < 50 s.
		for i := range 10 + g.rng.IntN(6) {
			if i > 0 {
				t += g.between(500, 3500)
			}
			g.schedule(t, g.auth(card, home, g.between(500, 8_000), g.rng.Int32N(int32(len(merchants))), g.rng.IntN(2) == 0))
		}
	case scRefundAbuse:
		// 3-5 refunds of 350-700, 20 s-5 min apart: > 1000 in < 21 min.
		for i := range 3 + g.rng.IntN(3) {
			if i > 0 {
				t += g.between(20*second, 5*minute)
			}
			g.schedule(t, fev{kind: kRefund, card: card, cents: g.between(35_000, 70_000), merchant: g.rng.Int32N(int32(len(merchants)))})
		}
	}
}

// city is a real city: position in 1e-4 degrees and ISO country code.
type city struct {
	name     string
	lat, lon int32
	country  string
}

var cities = [...]city{
	{"New York", 407128, -740060, "US"},
	{"Los Angeles", 340522, -1182437, "US"},
	{"Chicago", 418781, -876298, "US"},
	{"Toronto", 436532, -793832, "CA"},
	{"London", 515074, -1278, "GB"},
	{"Paris", 488566, 23522, "FR"},
	{"Berlin", 525200, 134050, "DE"},
	{"Madrid", 404168, -37038, "ES"},
	{"Lagos", 65244, 33792, "NG"},
	{"Mumbai", 190760, 728777, "IN"},
	{"Singapore", 13521, 1038198, "SG"},
	{"Tokyo", 356762, 1396503, "JP"},
	{"Sydney", -338688, 1512093, "AU"},
	{"Sao Paulo", -235505, -466333, "BR"},
}

// farCities lists, per city, the cities over 1000 km away from it: far enough
// that the ±0.05° jitter of a payment's position cannot bring them within
// 500 km.
var farCities = func() [len(cities)][]int8 {
	var far [len(cities)][]int8
	for i, a := range cities {
		for j, b := range cities {
			if geoKm(a.lat, a.lon, b.lat, b.lon) > 1000 {
				far[i] = append(far[i], int8(j))
			}
		}
	}
	return far
}()

// geoKm is the great-circle distance in km between two positions given in
// 1e-4 degrees (haversine, earth radius 6371 km).
func geoKm(lat1, lon1, lat2, lon2 int32) float64 {
	const rad = math.Pi / 180 / 1e4
	p1, p2 := float64(lat1)*rad, float64(lat2)*rad
	dp, dl := p2-p1, float64(lon2-lon1)*rad
	h := math.Sin(dp/2)*math.Sin(dp/2) + math.Cos(p1)*math.Cos(p2)*math.Sin(dl/2)*math.Sin(dl/2)
	return 2 * 6371 * math.Asin(math.Sqrt(h))
}
