namespace EventGateway.Events.Sensors;

public sealed class SensorOptions
{
    /// <summary>Workflows created by sensors that may be unfinished at once; further firings wait in the event log.</summary>
    public int MaxRunningWorkflows { get; set; } = 100;
    /// <summary>Events one pass of a sensor reads and commits together.</summary>
    public int BatchSize { get; set; } = 256;
    /// <summary>How long an event's recorded path is kept; the log's own retention bounds what can be replayed.</summary>
    public TimeSpan DecisionRetention { get; set; } = TimeSpan.FromDays(7);

    public void Validate()
    {
        if (MaxRunningWorkflows < 1) throw new ArgumentException($"max sensor workflows must be at least 1, got {MaxRunningWorkflows}");
        if (BatchSize < 1) throw new ArgumentException($"sensor batch size must be at least 1, got {BatchSize}");
    }
}
