using System.Diagnostics.Metrics;

namespace EventGateway.Events.Sensors;

/// <summary>
/// Sensor counters on one <see cref="Meter"/> (passed, filtered, duplicate, rate-limited, triggered, failed, ...) by
/// sensor and trigger, for in-process listeners and exporters. <c>/metrics</c> reads the state store instead, whose
/// counts are committed with the decisions and survive restarts.
/// </summary>
public sealed class SensorMetrics : IDisposable
{
    public const string MeterName = "EventGateway.Sensors";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _events;

    public SensorMetrics()
    {
        _events = _meter.CreateCounter<long>("eventgateway_sensor_events", description: "Events through each sensor stage, by outcome");
    }

    public void Count(string sensor, string trigger, string outcome)
    {
        _events.Add(1, new KeyValuePair<string, object?>("sensor", sensor), new KeyValuePair<string, object?>("trigger", trigger),
            new KeyValuePair<string, object?>("outcome", outcome));
    }

    public void Dispose() => _meter.Dispose();
}
