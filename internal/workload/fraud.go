package workload

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
)

// DefaultFraudKeys is the number of cards of a Fraud workload whose Spec gives
// no Keys.
const DefaultFraudKeys = 100_000

// FraudMaxStepMs is the largest gap between two consecutive Fraud events;
// gaps are uniform in [0, FraudMaxStepMs], 86 ms on average.
const FraudMaxStepMs = 172

// Fraud writes s.Events card-fraud events over s.Keys cards (DefaultFraudKeys
// if 0); card "c<n>" belongs to user "u<n>". The background mix is auth 70%,
// refund 5%, login 12%, mfa 10%, chargeback 3%, drawn per line, each line
// 0-FraudMaxStepMs ms after the one before: a million events span about a
// day, which is what a portfolio of 100k cards sees. Every few hundred lines a fraud scenario starts
// on a random card, its events interleaved with the background as their times
// come; the six scenarios take turns, so that each pattern of FraudPatterns
// fires (the scenarios' shapes are in fraud_scenarios.go). Scenarios that would
// end after the last line are cut off. Event shapes are those FraudPatterns
// declares; auth also carries the owner's user_id, and profile_change appears
// only in account takeovers.
func Fraud(w io.Writer, s Spec) error {
	keys, err := s.keys(DefaultFraudKeys)
	if err != nil {
		return err
	}
	g := &fraudGen{rng: newRand(s.Seed), seed: s.Seed, keys: keys}
	g.nextScenario = 100 + g.rng.IntN(200)
	bw := bufio.NewWriterSize(w, 256<<10)
	l := newLine()
	for n := 1; n <= s.Events; n++ {
		g.clock += int64(g.rng.IntN(FraudMaxStepMs + 1))
		if n >= g.nextScenario {
			g.inject()
			g.nextScenario = n + 400 + g.rng.IntN(800)
		}
		var e fev
		if len(g.pending) > 0 && g.pending[0].at <= g.clock {
			e = g.pending.pop()
		} else {
			e = g.background()
		}
		g.write(l, &e, n)
		if _, err := bw.Write(l.end()); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// fkind is the type of a Fraud event.
type fkind uint8

const (
	kAuth fkind = iota
	kRefund
	kLogin
	kMFA
	kChargeback
	kProfileChange
)

var fkindNames = [...]string{"auth", "refund", "login", "mfa", "chargeback", "profile_change"}

var (
	changeNames = [...]string{"password", "email"}
	reasonNames = [...]string{"fraud", "not_received", "duplicate", "not_as_described"}
)

// fev is one Fraud event before it is written.
type fev struct {
	at       int64  // scheduled events: due at this clock (ms since the start)
	seq      uint64 // scheduled events: ties of at keep scheduling order
	kind     fkind
	geo      bool   // auth: lat and lon present
	flag     bool   // login: new_device; mfa: ok
	sub      uint8  // profile_change: change; chargeback: reason
	city     int8   // auth: where (lat/lon if geo, country); login: country
	card     int32  // card c<n>, owned by user u<n>
	merchant int32  // index into merchants
	cents    int64  // amount in cents
	lat, lon int32  // 1e-4 degrees
	device   uint32 // login
}

// fraudGen is the state of one Fraud run.
type fraudGen struct {
	rng          *rand.Rand
	seed         uint64
	keys         int
	clock        int64 // ms since baseMillis
	pending      fevHeap
	seq          uint64
	injected     int // scenarios started so far
	nextScenario int // the line at which the next scenario starts
}

// write puts e into l as line n at the current clock.
func (g *fraudGen) write(l *line, e *fev, n int) {
	l.begin(fkindNames[e.kind], baseMillis+g.clock, n)
	card := uint64(e.card)
	switch e.kind {
	case kAuth:
		l.ident("card_id", 'c', card, 10)
		l.ident("user_id", 'u', card, 10)
		l.fixed("amount", e.cents, 2)
		l.str("merchant", merchants[e.merchant])
		l.str("country", cities[e.city].country)
		if e.geo {
			l.fixed("lat", int64(e.lat), 4)
			l.fixed("lon", int64(e.lon), 4)
		}
	case kRefund:
		l.ident("card_id", 'c', card, 10)
		l.fixed("amount", e.cents, 2)
		l.str("merchant", merchants[e.merchant])
	case kLogin:
		l.ident("user_id", 'u', card, 10)
		l.ident("device", 'd', uint64(e.device), 16)
		l.bool("new_device", e.flag)
		l.str("country", cities[e.city].country)
	case kMFA:
		l.ident("user_id", 'u', card, 10)
		l.bool("ok", e.flag)
	case kChargeback:
		l.ident("card_id", 'c', card, 10)
		l.fixed("amount", e.cents, 2)
		l.str("reason", reasonNames[e.sub])
	case kProfileChange:
		l.ident("user_id", 'u', card, 10)
		l.str("change", changeNames[e.sub])
	}
}

// background draws one event of the everyday mix.
func (g *fraudGen) background() fev {
	card := int32(g.rng.IntN(g.keys))
	switch r := g.rng.IntN(100); {
	case r < 70:
		return g.auth(card, g.homeCity(card), g.purchaseCents(), g.rng.Int32N(int32(len(merchants))), g.rng.IntN(100) < 92)
	case r < 75:
		return fev{kind: kRefund, card: card, cents: g.refundCents(), merchant: g.rng.Int32N(int32(len(merchants)))}
	case r < 87:
		return g.login(card)
	case r < 97:
		return fev{kind: kMFA, card: card, flag: g.rng.IntN(100) < 95}
	default:
		return fev{kind: kChargeback, card: card, cents: g.purchaseCents(), sub: uint8(g.rng.IntN(len(reasonNames)))}
	}
}

// login is an everyday login: mostly from the user's usual device; a new
// device is usually confirmed by a successful second factor soon after.
func (g *fraudGen) login(card int32) fev {
	e := fev{kind: kLogin, card: card, city: g.homeCity(card), device: g.usualDevice(card)}
	if g.rng.IntN(100) < 3 {
		e.device, e.flag = g.rng.Uint32(), true
		if g.rng.IntN(100) < 85 {
			g.schedule(g.clock+g.between(5_000, 120_000), fev{kind: kMFA, card: card, flag: true})
		}
	}
	return e
}

// auth is an authorisation in city, with lat/lon near it if geo.
func (g *fraudGen) auth(card int32, city int8, cents int64, merchant int32, geo bool) fev {
	e := fev{kind: kAuth, card: card, city: city, cents: cents, merchant: merchant, geo: geo}
	if geo {
		e.lat = cities[city].lat + g.rng.Int32N(1001) - 500
		e.lon = cities[city].lon + g.rng.Int32N(1001) - 500
	}
	return e
}

// purchaseCents draws the amount of an everyday purchase: a long tail with
// few amounts under 2.00 or over 500.
func (g *fraudGen) purchaseCents() int64 {
	switch r := g.rng.IntN(1000); {
	case r < 5:
		return g.between(50, 199)
	case r < 600:
		return g.between(200, 4_000)
	case r < 900:
		return g.between(4_000, 15_000)
	case r < 985:
		return g.between(15_000, 50_000)
	case r < 998:
		return g.between(50_000, 100_000)
	default:
		return g.between(100_000, 300_000)
	}
}

func (g *fraudGen) refundCents() int64 {
	if g.rng.IntN(10) == 0 {
		return g.between(8_000, 30_000)
	}
	return g.between(500, 8_000)
}

// between draws uniformly from [lo, hi].
func (g *fraudGen) between(lo, hi int64) int64 { return lo + g.rng.Int64N(hi-lo+1) }

func (g *fraudGen) homeCity(card int32) int8 {
	return int8(mix64(g.seed^uint64(card)) % uint64(len(cities)))
}

func (g *fraudGen) usualDevice(card int32) uint32 {
	return uint32(mix64(g.seed^(uint64(card)<<32|0xd)) >> 32)
}

// schedule queues e to be written once the clock reaches at.
func (g *fraudGen) schedule(at int64, e fev) {
	e.at, e.seq = at, g.seq
	g.seq++
	g.pending.push(e)
}

// fevHeap is a binary min-heap of scheduled events by (at, seq), typed to
// avoid container/heap's boxing.
type fevHeap []fev

func (h fevHeap) less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].seq < h[j].seq
}

func (h *fevHeap) push(e fev) {
	*h = append(*h, e)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *fevHeap) pop() fev {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && q.less(c+1, c) {
			c++
		}
		if !q.less(c, i) {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	*h = q
	return top
}

// merchants are the merchant names, category_<n>; category order matters to
// the scenarios (see merchantIn).
var merchants = func() []string {
	var m []string
	for _, c := range merchantCategories {
		for i := range merchantsPerCategory {
			m = append(m, c+"_"+strconv.Itoa(i))
		}
	}
	return m
}()

var merchantCategories = [...]string{
	"grocer", "fuel", "cafe", "restaurant", "pharmacy", "airline",
	"hotel", "electronics", "online_store", "giftcards",
}

const merchantsPerCategory = 50

// merchantIn draws a merchant of the given category.
func (g *fraudGen) merchantIn(category int) int32 {
	return int32(category*merchantsPerCategory + g.rng.IntN(merchantsPerCategory))
}
