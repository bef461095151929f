namespace EventGateway.Events.Sensors;

public enum SensorState { Starting, Running, Waiting, Failed, Refused, Stopped }

/// <summary>Live state of one sensor's runner, for <c>egw sensor get</c> and the REST API. Written by its runner only.</summary>
public sealed class SensorStatus
{
    public SensorState State { get; set; } = SensorState.Starting;
    /// <summary>Why the sensor is refused, failed, or waiting (rate limit, workflow cap).</summary>
    public string? Message { get; set; }
    public long Checkpoint { get; set; }
    public int Restarts { get; set; }
    public DateTimeOffset? LastEventAt { get; set; }
}
