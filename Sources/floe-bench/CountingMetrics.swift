import CoreMetrics
import NIOConcurrencyHelpers

/// A metrics backend that keeps every value in memory behind a lock, as the usual in-process
/// backends (Prometheus' registry, OTel's aggregation) do: `--Floe.Metrics=1` bootstraps it, so
/// the measured cost of metrics includes a backend doing real work, not only a no-op one.
struct CountingMetrics: MetricsFactory {
    final class Handler: CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler, TimerHandler,
        Sendable
    {
        private let state = NIOLockedValueBox((count: Int64(0), sum: 0.0))

        func increment(by amount: Int64) { state.withLockedValue { $0.count += amount } }
        func increment(by amount: Double) { state.withLockedValue { $0.sum += amount } }
        func decrement(by amount: Double) { state.withLockedValue { $0.sum -= amount } }
        func set(_ value: Int64) { state.withLockedValue { $0.sum = Double(value) } }
        func set(_ value: Double) { state.withLockedValue { $0.sum = value } }
        func record(_ value: Int64) { record(Double(value)) }
        func record(_ value: Double) { state.withLockedValue { $0 = ($0.count + 1, $0.sum + value) } }
        func recordNanoseconds(_ duration: Int64) { record(Double(duration)) }
        func reset() { state.withLockedValue { $0 = (0, 0) } }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { Handler() }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        Handler()
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { Handler() }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler()
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Handler() }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
