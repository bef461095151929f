using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace EventGateway.Sensors;

/// <summary>
/// Sensor counters on one <see cref="Meter"/> (received, filtered, duplicate, rate-limited, triggered, failed, ...)
/// by sensor and trigger, plus a snapshot for the Prometheus text endpoint.
/// </summary>
public sealed class SensorMetrics : IDisposable
{
    public const string MeterName = "EventGateway.Sensors";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _events;
    private readonly ConcurrentDictionary<(string Sensor, string Trigger, string Outcome), long> _totals = new();

    public SensorMetrics()
    {
        _events = _meter.CreateCounter<long>("eventgateway_sensor_events", description: "Events through each sensor stage, by outcome");
    }

    public void Count(string sensor, string trigger, string outcome)
    {
        _totals.AddOrUpdate((sensor, trigger, outcome), 1, (_, n) => n + 1);
        _events.Add(1, new KeyValuePair<string, object?>("sensor", sensor), new KeyValuePair<string, object?>("trigger", trigger),
            new KeyValuePair<string, object?>("outcome", outcome));
    }

    public IReadOnlyDictionary<(string Sensor, string Trigger, string Outcome), long> Snapshot() => new Dictionary<(string, string, string), long>(_totals);

    public void Dispose() => _meter.Dispose();
}
