namespace EventGateway.Tests.Support;

/// <summary>Waits for a condition with a deadline: for observing real processes, never for time-based behaviour.</summary>
public static class Eventually
{
    public static async Task<T> Get<T>(Func<Task<T?>> probe, string what, TimeSpan? within = null, Action? eachPoll = null) where T : class
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            if (await probe() is { } value) return value;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            eachPoll?.Invoke();
            await Task.Delay(TimeSpan.FromMilliseconds(25));
        }
    }
}
