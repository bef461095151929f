namespace EventGateway.Events.Log;

/// <summary>
/// The newest events of the stream, contiguous by sequence, as the tail consumer delivered them: sensors read
/// just behind the head, and serving them from here spares a consumer's create, fetch and delete per read.
/// Bounded by count and bytes; a gap (the tail restarted elsewhere) starts it afresh.
/// </summary>
internal sealed class RecentEvents(int maxEvents, long maxBytes, TimeSpan maxAge, TimeProvider time)
{
    private readonly Queue<LoggedEvent> _events = new();
    private readonly Lock _lock = new();
    private long _bytes;
    private long _first = 1; // sequence of the oldest held event (meaningful when not empty)

    public void Add(LoggedEvent e)
    {
        lock (_lock)
        {
            if (_events.Count > 0 && e.Sequence != _first + _events.Count) Clear();
            if (_events.Count == 0) _first = e.Sequence;
            _events.Enqueue(e);
            _bytes += e.Event.Data.Length + 256;
            while (_events.Count > maxEvents || (_bytes > maxBytes && _events.Count > 1))
            {
                var old = _events.Dequeue();
                _bytes -= old.Event.Data.Length + 256;
                _first++;
            }
        }
    }

    /// <summary>
    /// Events above <paramref name="afterSequence"/>, at most <paramref name="max"/>, when this holds the next one;
    /// null when it does not (older than held, or not yet delivered here).
    /// </summary>
    public List<LoggedEvent>? TryRead(long afterSequence, int max)
    {
        lock (_lock)
        {
            // Past the retention age the stream drops events: so does this.
            var cutoff = time.GetUtcNow() - maxAge;
            while (_events.Count > 0 && _events.Peek().Received < cutoff)
            {
                _bytes -= _events.Dequeue().Event.Data.Length + 256;
                _first++;
            }
            if (_events.Count == 0) return null;
            var next = afterSequence + 1;
            var last = _first + _events.Count - 1;
            if (next < _first || next > last) return null;
            return _events.Skip((int)(next - _first)).Take(max).ToList();
        }
    }

    public void Clear()
    {
        lock (_lock)
        {
            _events.Clear();
            _bytes = 0;
        }
    }
}
