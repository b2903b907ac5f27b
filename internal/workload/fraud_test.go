package workload

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// fraudEvent is a decoded Fraud line, for the scenario checks below.
type fraudEvent struct {
	Type      string    `json:"type"`
	Time      time.Time `json:"time"`
	CardID    string    `json:"card_id"`
	UserID    string    `json:"user_id"`
	Amount    float64   `json:"amount"`
	Merchant  string    `json:"merchant"`
	Lat       *float64  `json:"lat"`
	Lon       *float64  `json:"lon"`
	NewDevice bool      `json:"new_device"`
	OK        bool      `json:"ok"`
	Change    string    `json:"change"`
}

// TestFraudScenarios checks, by brute force over a generated stream, that the
// situation each pattern of FraudPatterns looks for occurs, and rarely.
func TestFraudScenarios(t *testing.T) {
	const events = 300_000
	data := generate(t, Fraud, Spec{Events: events, Seed: 3})
	var evs []fraudEvent
	for ln := range strings.Lines(string(data)) {
		var e fraudEvent
		if err := json.Unmarshal([]byte(ln), &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	for name, detect := range map[string]func([]fraudEvent) int{
		"card_testing":      cardTesting,
		"impossible_travel": impossibleTravel,
		"login_without_mfa": loginWithoutMFA,
		"account_takeover":  accountTakeover,
		"velocity_burst":    velocityBurst,
		"refund_abuse":      refundAbuse,
	} {
		n := detect(evs)
		t.Logf("%s: %d", name, n)
		if n == 0 || n > events/200 {
			t.Errorf("%s: %d occurrences in %d events, want a few", name, n, events)
		}
	}
}

// byKey groups the events of the given types by key, in input order.
func byKey(evs []fraudEvent, key func(*fraudEvent) string, types ...string) map[string][]fraudEvent {
	m := map[string][]fraudEvent{}
	for _, e := range evs {
		for _, typ := range types {
			if e.Type == typ {
				k := key(&e)
				m[k] = append(m[k], e)
			}
		}
	}
	return m
}

func card(e *fraudEvent) string { return e.CardID }
func user(e *fraudEvent) string { return e.UserID }

// cardTesting counts auths over 500 preceded on their card, within 10 min, by
// 3+ auths under 2 whose last was at another merchant.
func cardTesting(evs []fraudEvent) (n int) {
	for _, auths := range byKey(evs, card, "auth") {
		for j, big := range auths {
			if big.Amount <= 500 {
				continue
			}
			probes, lastMerchant := 0, ""
			for i := j - 1; i >= 0 && big.Time.Sub(auths[i].Time) < 10*time.Minute; i-- {
				if auths[i].Amount < 2 {
					if probes == 0 {
						lastMerchant = auths[i].Merchant
					}
					probes++
				}
			}
			if probes >= 3 && lastMerchant != big.Merchant {
				n++
			}
		}
	}
	return n
}

// impossibleTravel counts auths more than 500 km from an earlier auth on the
// card less than an hour before.
func impossibleTravel(evs []fraudEvent) (n int) {
	for _, auths := range byKey(evs, card, "auth") {
		for j, b := range auths {
			for _, a := range auths[:j] {
				if a.Lat != nil && b.Lat != nil && b.Time.Sub(a.Time) < time.Hour &&
					haversineKm(*a.Lat, *a.Lon, *b.Lat, *b.Lon) > 500 {
					n++
					break
				}
			}
		}
	}
	return n
}

// loginWithoutMFA counts new-device logins with no ok mfa of the user in the
// next 5 minutes, among those 5 minutes before the end of the stream.
func loginWithoutMFA(evs []fraudEvent) (n int) {
	end := evs[len(evs)-1].Time
	for _, es := range byKey(evs, user, "login", "mfa") {
		for i, l := range es {
			if l.Type != "login" || !l.NewDevice || end.Sub(l.Time) < 5*time.Minute {
				continue
			}
			confirmed := false
			for _, m := range es[i+1:] {
				if m.Time.Sub(l.Time) >= 5*time.Minute {
					break
				}
				confirmed = confirmed || (m.Type == "mfa" && m.OK)
			}
			if !confirmed {
				n++
			}
		}
	}
	return n
}

// accountTakeover counts auths over 1000 preceded, within 30 minutes, by a
// new-device login of the owner and then a profile change.
func accountTakeover(evs []fraudEvent) (n int) {
	for _, es := range byKey(evs, user, "login", "profile_change", "auth") {
		for j, big := range es {
			if big.Type != "auth" || big.Amount <= 1000 {
				continue
			}
			changed := false
			for i := j - 1; i >= 0 && big.Time.Sub(es[i].Time) < 30*time.Minute; i-- {
				if es[i].Type == "profile_change" {
					changed = true
				}
				if changed && es[i].Type == "login" && es[i].NewDevice {
					n++
					break
				}
			}
		}
	}
	return n
}

// velocityBurst counts the auths that end a run of 10 on their card within a
// minute.
func velocityBurst(evs []fraudEvent) (n int) {
	for _, auths := range byKey(evs, card, "auth") {
		for j := 9; j < len(auths); j++ {
			if auths[j].Time.Sub(auths[j-9].Time) < time.Minute {
				n++
			}
		}
	}
	return n
}

// refundAbuse counts the refunds that start 3+ refunds on their card within
// an hour totalling over 1000.
func refundAbuse(evs []fraudEvent) (n int) {
	for _, refunds := range byKey(evs, card, "refund") {
		for i, first := range refunds {
			count, total := 0, 0.0
			for _, r := range refunds[i:] {
				if r.Time.Sub(first.Time) >= time.Hour {
					break
				}
				count++
				total += r.Amount
			}
			if count >= 3 && total > 1000 {
				n++
			}
		}
	}
	return n
}

func haversineKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	h := math.Pow(math.Sin(dLat/2), 2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Pow(math.Sin(dLon/2), 2)
	return 2 * 6371 * math.Asin(math.Sqrt(h))
}
