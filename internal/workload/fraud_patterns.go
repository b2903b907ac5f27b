package workload

import "github.com/motifcep/motif/pattern"

// FraudSet returns FraudPatterns parsed and checked.
func FraudSet() (*pattern.Set, error) {
	set, diags := pattern.Compile("fraud.motif", []byte(FraudPatterns))
	if diags.HasErrors() {
		return nil, diags
	}
	return set, nil
}

// FraudPatterns is the Motif source that Fraud's events are meant for: the
// declarations of their shapes and one pattern per injected scenario.
const FraudPatterns = `# Card-fraud patterns for the events of workload.Fraud.
# Card c<n> belongs to user u<n>; auth carries both, so that a user-keyed
# pattern can follow a login to a payment.

event auth {
    card_id:  string
    user_id:  string         # the card's owner
    amount:   number
    merchant: string
    country:  string
    lat:      number?        # absent for card-not-present payments
    lon:      number?
}
event refund         { card_id: string, amount: number, merchant: string }
event chargeback     { card_id: string, amount: number, reason: string }
event login          { user_id: string, device: string, new_device: bool, country: string }
event mfa            { user_id: string, ok: bool }
event profile_change { user_id: string, change: string }

## Several tiny authorisations probe a card, then a large purchase follows at another merchant.
pattern card_testing {
    key    card_id
    within 10m
    skip   past_last_event

    begin       probe{3,}: auth where amount < 2.00
    followed_by big:       auth where amount > 500 and merchant != last(probe).merchant

    emit high "card {key} probed {count(probe)} times, then {big.amount} at {big.merchant}" {
        probes:   count(probe),
        total:    sum(probe.amount),
        amount:   big.amount,
        merchant: big.merchant,
    }
}

## Two payments on one card, more than 500 km apart within an hour.
pattern impossible_travel {
    key    card_id
    within 1h
    skip   past_last_event

    begin       here:  auth where exists(lat) and exists(lon)
    followed_by there: auth where geo_km(here.lat, here.lon, lat, lon) > 500

    emit high "card {key} paid in {here.country}, then in {there.country} {round(minutes(there.time - here.time))} minutes later" {
        km:      round(geo_km(here.lat, here.lon, there.lat, there.lon)),
        from:    here.country,
        to:      there.country,
        minutes: minutes(there.time - here.time),
    }
}

## A login from a new device with no successful second factor within five minutes.
pattern login_without_mfa {
    key    user_id
    within 5m

    begin           l: login where new_device
    not_followed_by m: mfa where ok

    emit medium "user {key} logged in on new device {l.device} from {l.country} without a second factor" {
        device:  l.device,
        country: l.country,
    }
}

## A new device changes the password or e-mail address, then a large payment follows.
pattern account_takeover {
    key    user_id
    within 30m
    skip   past_last_event

    begin       l:   login where new_device
    followed_by p:   profile_change where change in ["password", "email"]
    followed_by big: auth where amount > 1000

    emit critical "account {key}: new device {l.device}, {p.change} changed, then {big.amount} at {big.merchant}" {
        device:   l.device,
        country:  l.country,
        changed:  p.change,
        card:     big.card_id,
        amount:   big.amount,
        merchant: big.merchant,
    }
}

## Ten or more authorisations on one card within a minute.
pattern velocity_burst {
    key    card_id
    within 1m
    skip   past_last_event

    begin a{10,}: auth

    emit high "card {key}: {count(a)} authorisations within a minute" {
        auths:     count(a),
        total:     sum(a.amount),
        merchants: distinct(a.merchant),
    }
}

## Three or more refunds on one card within an hour, adding up to more than 1000.
pattern refund_abuse {
    key    card_id
    within 1h
    skip   past_last_event

    begin       r{2,}:       refund
    followed_by last_refund: refund where sum(r.amount) + amount > 1000

    emit high "card {key}: {count(r) + 1} refunds totalling {sum(r.amount) + last_refund.amount} within an hour" {
        refunds: count(r) + 1,
        total:   sum(r.amount) + last_refund.amount,
    }
}
`
