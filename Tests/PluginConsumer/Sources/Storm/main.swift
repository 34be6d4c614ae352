import Floe
import Foundation

// ZeroC's IceStorm from Floe, as its clock demo does it: IceStorm's own Slice (Debian's
// zeroc-ice-slice, by absolute path in slice-plugin.json) compiled into this target; a
// subscriber and a publisher, each with its communicator, through an IceStorm service
// (Tools/scripts/icestorm.sh starts one and gives its TopicManager proxy).

actor ClockSubscriber: Clock {
    private(set) var ticks: [String] = []
    func tick(time: String, current: Current) async throws { ticks.append(time) }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("storm: error: \(message)\n".utf8))
    exit(1)
}

func topic(_ communicator: Communicator, _ managerProxy: String, _ name: String) async throws -> any TopicPrx {
    guard let base = try communicator.stringToProxy(managerProxy),
        let manager = try await checkedCast(prx: base, type: (any TopicManagerPrx).self)
    else {
        fail("\(managerProxy) is not an IceStorm TopicManager")
    }
    // (Slice proxies are nullable: both operations return optionals.)
    var topic: (any TopicPrx)?
    do {
        topic = try await manager.create(name)
    } catch is TopicExists {
        topic = try await manager.retrieve(name)
    }
    guard let topic else { fail("no topic \(name)") }
    return topic
}

guard CommandLine.arguments.count == 2 else { fail("usage: Storm TOPIC-MANAGER-PROXY") }
let managerProxy = CommandLine.arguments[1]
let ticks = 20
do {
    let subscriberSide = Communicator()
    let adapter = try await subscriberSide.createObjectAdapterWithEndpoints(
        name: "Clock.Subscriber", endpoints: "tcp -h 127.0.0.1 -p 0")
    let subscriber = ClockSubscriber()
    // Twoway: IceStorm delivers in order only to twoway subscribers ("reliability": "ordered").
    let subscriberProxy = try adapter.add(servant: subscriber, id: Identity(name: UUID().uuidString))
    try await adapter.activate()
    let subscribed = try await topic(subscriberSide, managerProxy, "time")
    _ = try await subscribed.subscribeAndGetPublisher(theQoS: ["reliability": "ordered"], subscriber: subscriberProxy)

    let publisherSide = Communicator()
    let published = try await topic(publisherSide, managerProxy, "time")
    guard let publisher = try await published.getPublisher() else { fail("the topic has no publisher") }
    let clock = uncheckedCast(prx: publisher.ice_oneway(), type: (any ClockPrx).self)
    for index in 0..<ticks { try await clock.tick("tick \(index)") }

    let deadline = ContinuousClock.now + .seconds(20)
    while await subscriber.ticks.count < ticks, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(20))
    }
    let received = await subscriber.ticks
    guard received == (0..<ticks).map({ "tick \($0)" }) else {
        fail("the subscriber received \(received.count) of \(ticks) ticks: \(received)")
    }
    try await subscribed.unsubscribe(subscriberProxy)
    await publisherSide.destroy()
    await subscriberSide.destroy()
    print("storm: \(ticks) ticks published through IceStorm reached the subscriber, in order")
} catch let error as BadQoS {
    fail("IceStorm refused the QoS: \(error.reason)")
} catch {
    fail("\(error)")
}
