from tests.conftest import World, reverts


def test_bid_above_max_price_reverts_with_BidAboveMax(world: World) -> None:
    request_id = world.open_request(max_price=100)
    before = world.ledger()
    with reverts("BidAboveMax", price=101, maxPrice=100):
        world.sellers[0].system.market.bid(request_id, 101)
    assert world.ledger() == before


def test_bid_at_deadline_minus_one_is_accepted_and_at_deadline_rejected(world: World) -> None:
    request_id = world.open_request()
    deadline = world.market.request(request_id).deadline_ts
    world.chain.set_next_timestamp(deadline - 1)
    world.sellers[0].system.market.bid(request_id, 90)
    world.chain.set_next_timestamp(deadline)
    with reverts("BiddingClosed", deadline=deadline, nowTs=deadline):
        world.sellers[1].system.market.bid(request_id, 80)
