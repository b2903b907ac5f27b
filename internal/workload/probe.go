package workload

// ProbePattern is the smallest realistic pattern set, for tests of the
// server and its clients: an event declaration and one card-testing
// pattern (small probes, then a big amount on the same card, within 10
// minutes; a high alert).
const ProbePattern = `event auth { card: string, amount: number }

## Small probes then a big one.
pattern probe {
    key card
    begin small: auth where amount < 5
    followed_by big: auth where amount > 500
    within 10m
    emit high "card {card} probed"
}
`
