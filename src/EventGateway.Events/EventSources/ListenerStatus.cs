namespace EventGateway.Events.EventSources;

public enum ListenerState { Starting, Listening, Failed, Stopped, Standby }

/// <summary>What one running event is doing, for <c>egw eventsource get</c>. Updated by its listener, read by anyone.</summary>
public sealed class ListenerStatus
{
    private readonly object _gate = new();
    private readonly Dictionary<string, long> _rejected = new(StringComparer.Ordinal);
    private long _accepted;

    public ListenerStatus(string type, string eventName, EventMetrics? metrics = null)
    {
        Type = type;
        EventName = eventName;
        Metrics = metrics;
    }

    /// <summary>Argo Events' metrics of this event; null when none are kept (tests of a listener alone).</summary>
    public EventMetrics? Metrics { get; }

    public string Type { get; }
    public string EventName { get; }
    public ListenerState State { get; private set; } = ListenerState.Starting;
    /// <summary>Where it listens or what it watches, e.g. <c>:12000/push</c> or <c>kafka://host:9092/topic</c>.</summary>
    public string? Target { get; private set; }
    public string? Message { get; private set; }
    public DateTimeOffset? LastEventAt { get; private set; }
    public long Accepted => Interlocked.Read(ref _accepted);
    public int Restarts { get; private set; }

    public IReadOnlyDictionary<string, long> Rejected
    {
        get { lock (_gate) return new Dictionary<string, long>(_rejected); }
    }

    public void Listening(string target)
    {
        lock (_gate)
        {
            if (State != ListenerState.Listening) Metrics?.Running(true);
            State = ListenerState.Listening; Target = target; Message = null;
        }
    }

    /// <summary>What a listening listener has to say about its share of the work (a consumer group's partitions).</summary>
    public void Note(string message)
    {
        lock (_gate) { if (State == ListenerState.Listening) Message = message; }
    }

    public void Failed(string reason)
    {
        lock (_gate)
        {
            if (State == ListenerState.Listening) Metrics?.Running(false);
            State = ListenerState.Failed; Message = reason; Restarts++;
        }
    }

    /// <summary>Not running here because another replica runs it (its lease is held elsewhere).</summary>
    public void Standby(string reason)
    {
        lock (_gate) { State = ListenerState.Standby; Message = reason; }
    }

    public void Stopped()
    {
        lock (_gate)
        {
            if (State == ListenerState.Listening) Metrics?.Running(false);
            State = ListenerState.Stopped;
        }
    }

    public void Accept(DateTimeOffset at, int count = 1)
    {
        Interlocked.Add(ref _accepted, count);
        Metrics?.Sent(count);
        lock (_gate) LastEventAt = at;
    }

    /// <summary>Counts a refusal by its reason class (e.g. "401 bad token", "filtered").</summary>
    public void Reject(string reason)
    {
        lock (_gate) _rejected[reason] = _rejected.GetValueOrDefault(reason) + 1;
        Metrics?.Refused(reason);
    }
}
