using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;

namespace EventGateway.Tests.Support;

/// <summary>
/// A fake clock that also tells when code is parked on it: a timer with a short due time is pending.
/// Lets a test wait for "the listener is now waiting for the clock" instead of sleeping.
/// </summary>
public sealed class ParkingFakeTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly ConcurrentDictionary<Timer, TimeSpan> _pending = new();

    /// <summary>Whether a timer due within <paramref name="within"/> (and not yet fired or disposed) exists.</summary>
    public bool HasPendingTimer(TimeSpan within) => _pending.Values.Any(due => due > TimeSpan.Zero && due <= within);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Timer? wrapper = null;
        var inner = base.CreateTimer(s =>
        {
            if (wrapper is not null && period == Timeout.InfiniteTimeSpan) _pending.TryRemove(wrapper, out _);
            callback(s);
        }, state, dueTime, period);
        wrapper = new Timer(inner, this);
        wrapper.Track(dueTime);
        return wrapper;
    }

    private sealed class Timer(ITimer inner, ParkingFakeTimeProvider owner) : ITimer
    {
        public void Track(TimeSpan due)
        {
            if (due == Timeout.InfiniteTimeSpan) owner._pending.TryRemove(this, out _);
            else owner._pending[this] = due;
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Track(dueTime);
            return inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            owner._pending.TryRemove(this, out _);
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            owner._pending.TryRemove(this, out _);
            return inner.DisposeAsync();
        }
    }
}
