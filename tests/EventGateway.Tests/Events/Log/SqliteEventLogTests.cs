using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;
using EventGateway.Events.Log;

namespace EventGateway.Tests.Events.Log;

public sealed class SqliteEventLogTests : EventLogContractTests<SqliteEventLog>
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-log-").FullName;

    private string Path => System.IO.Path.Combine(_dir, "events.db");

    protected override Task<SqliteEventLog> OpenAsync(EventLogOptions? options = null) =>
        Task.FromResult(new SqliteEventLog(Path, options ?? new EventLogOptions(), _time, NullLogger<SqliteEventLog>.Instance));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Concurrent_appends_share_commits()
    {
        var appends = Enumerable.Range(0, 2000).Select(i => Task.Run(() => _log.AppendAsync([Event($"e{i}")]))).ToList();
        await Task.WhenAll(appends);

        // Group commit: the fsync is shared, so there are far fewer transactions than appends.
        _log.Commits.ShouldBeLessThan(2000);
    }


    [Fact]
    public async Task Retention_removes_old_events_by_age_and_count_and_never_reuses_sequences()
    {
        await _log.DisposeAsync();
        _log = await OpenAsync(new EventLogOptions { RetentionMaxAge = TimeSpan.FromHours(1), RetentionMaxEvents = 3 });
        await _log.AppendAsync([Event("old1"), Event("old2")]);
        _time.Advance(TimeSpan.FromMinutes(61));
        await _log.AppendAsync([Event("n1"), Event("n2"), Event("n3"), Event("n4")]);

        _log.Prune().ShouldBeGreaterThan(0);
        (await _log.ReadAsync(0, 10)).Select(e => e.Event.Id).ShouldBe(["n2", "n3", "n4"]);
        var stats = await _log.StatsAsync();
        (stats.Count, stats.FirstSequence, stats.LastSequence).ShouldBe((3L, 4L, 6L));
        stats.RetentionMaxAge.ShouldBe(TimeSpan.FromHours(1));
        stats.RetentionMaxEvents.ShouldBe(3);

        (await _log.AppendAsync([Event("n5")])).ShouldBe([7L]);
    }
}
