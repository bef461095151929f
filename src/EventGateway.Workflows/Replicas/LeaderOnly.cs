using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EventGateway.Workflows.Replicas;

/// <summary>
/// Runs a singleton service (cron schedules, the reaper, artifact GC) only on the replica holding its lease
/// (<c>singleton/NAME</c>): started when the lease is gained, stopped when it is lost, so two replicas never fire the
/// same cron tick or delete the same workflow. Each singleton has a lease of its own, which spreads them over replicas.
/// </summary>
public sealed partial class LeaderOnly(IOwnership ownership, IHostedService inner, string name, ILogger<LeaderOnly> log) : BackgroundService
{
    /// <summary>The service itself in the embedded mode (nothing to decide), else it wrapped.</summary>
    public static IHostedService Wrap(IOwnership ownership, IHostedService inner, string name, ILogger<LeaderOnly> log) =>
        ownership.Shared ? new LeaderOnly(ownership, inner, name, log) : inner;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var work = new ExclusiveWork(ownership, $"singleton/{name}");
        while (!stoppingToken.IsCancellationRequested)
        {
            CancellationToken held;
            try { held = await work.WaitHeldAsync(stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            LogLeading(log, name, ownership.ReplicaId);
            await inner.StartAsync(stoppingToken).ConfigureAwait(false);
            using var either = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, held);
            await Task.Delay(Timeout.InfiniteTimeSpan, either.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await inner.StopAsync(CancellationToken.None).ConfigureAwait(false);
            if (!stoppingToken.IsCancellationRequested) LogStopped(log, name);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Name} runs on this replica ({Replica})")]
    private static partial void LogLeading(ILogger log, string name, string replica);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Name}: its lease was lost; stopped here, another replica takes it over")]
    private static partial void LogStopped(ILogger log, string name);
}
