using System.Text;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Events.Log;

namespace EventGateway.Tests.Events.Log;

/// <summary>
/// What every <see cref="IEventLog"/> promises, run against each implementation (embedded SQLite, NATS JetStream).
/// Subclasses open a fresh, empty log and can reopen it over the same storage.
/// </summary>
public abstract class EventLogContractTests<TLog> : IAsyncLifetime where TLog : class, IEventLog, IAsyncDisposable
{
    protected readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));
    protected TLog _log = null!;

    /// <summary>Opens the log over this test's storage (the same storage each time).</summary>
    protected abstract Task<TLog> OpenAsync(EventLogOptions? options = null);

    public virtual async Task InitializeAsync() => _log = await OpenAsync();

    public virtual async Task DisposeAsync() => await _log.DisposeAsync();

    protected static EventToAppend Event(string id, string source = "src", string json = "{}") =>
        new("default", new CloudEvent(id, source, "webhook", "push", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), Encoding.UTF8.GetBytes(json)));

    [Fact]
    public async Task Appends_get_increasing_sequences_and_read_back_exactly()
    {
        var first = await _log.AppendAsync([Event("a", json: """{"n":1}"""), Event("b")]);
        var second = await _log.AppendAsync([Event("c")]);
        first.ShouldBe([1L, 2L]);
        second.ShouldBe([3L]);

        var read = await _log.ReadAsync(1, 10);
        read.Select(e => e.Event.Id).ShouldBe(["b", "c"]);
        var a = (await _log.GetAsync(1))!;
        a.Namespace.ShouldBe("default");
        a.Event.Source.ShouldBe("src");
        a.Event.Subject.ShouldBe("push");
        a.Event.Type.ShouldBe("webhook");
        a.Event.SpecVersion.ShouldBe("1.0");
        a.Event.Time.ShouldBe(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        Encoding.UTF8.GetString(a.Event.Data.Span).ShouldBe("""{"n":1}""");
        a.Received.ShouldBe(_time.GetUtcNow());
    }

    [Fact]
    public async Task Concurrent_appends_lose_nothing()
    {
        var appends = Enumerable.Range(0, 2000).Select(i => Task.Run(() => _log.AppendAsync([Event($"e{i}")]))).ToList();
        var seqs = (await Task.WhenAll(appends)).SelectMany(s => s).ToList();

        seqs.Distinct().Count().ShouldBe(2000);
        (await _log.StatsAsync()).Count.ShouldBe(2000);
    }

    [Fact]
    public async Task Events_and_sequences_survive_reopening()
    {
        await _log.AppendAsync([Event("a"), Event("b")]);
        await _log.DisposeAsync();
        _log = await OpenAsync();
        (await _log.AppendAsync([Event("c")])).ShouldBe([3L]);
        (await _log.ReadAsync(0, 10)).Select(e => e.Event.Id).ShouldBe(["a", "b", "c"]);
    }

    [Fact]
    public async Task A_source_checkpoint_is_written_with_its_events()
    {
        await _log.AppendAsync([Event("x")], new SourceCheckpoint("ns/s3/upload/listing", "etag-1"));
        (await _log.GetSourceStateAsync("ns/s3/upload/listing")).ShouldBe("etag-1");
        await _log.AppendAsync([], new SourceCheckpoint("ns/s3/upload/listing", "etag-2"));
        (await _log.GetSourceStateAsync("ns/s3/upload/listing")).ShouldBe("etag-2");
        (await _log.GetSourceStateAsync("unknown")).ShouldBeNull();
    }

    [Fact]
    public async Task A_waiting_reader_wakes_on_append()
    {
        await _log.AppendAsync([Event("a")]);
        var wait = _log.WaitForAsync(1);
        wait.IsCompleted.ShouldBeFalse();
        await _log.AppendAsync([Event("b")]);
        await wait.WaitAsync(TimeSpan.FromSeconds(10));
        await _log.WaitForAsync(0).WaitAsync(TimeSpan.FromSeconds(1)); // already there: no wait
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_and_writes_nothing()
    {
        await _log.DisposeAsync();
        _log = await OpenAsync(new EventLogOptions { MaxPendingEvents = 2 });
        var e = await Should.ThrowAsync<EventLogUnavailableException>(() => _log.AppendAsync([Event("a"), Event("b"), Event("c")]));
        e.Message.ShouldContain("event log is full");
        e.RetryAfter.ShouldBeGreaterThan(TimeSpan.Zero);
        (await _log.StatsAsync()).Count.ShouldBe(0);
        // The refusal released its reservation: a fitting append still goes through.
        (await _log.AppendAsync([Event("d")])).ShouldBe([1L]);
    }

    [Fact]
    public async Task Queries_filter_by_source_newest_first_and_page_backwards()
    {
        await _log.AppendAsync([Event("a1", "a"), Event("b1", "b"), Event("a2", "a"), Event("a3", "a")]);
        (await _log.QueryAsync(new EventQuery(Source: "a"))).Select(e => e.Event.Id).ShouldBe(["a3", "a2", "a1"]);
        (await _log.QueryAsync(new EventQuery(Source: "a", Limit: 2))).Select(e => e.Event.Id).ShouldBe(["a3", "a2"]);
        (await _log.QueryAsync(new EventQuery(Source: "a", BeforeSequence: 3))).Select(e => e.Event.Id).ShouldBe(["a1"]);
        (await _log.QueryAsync(new EventQuery(Namespace: "other"))).ShouldBeEmpty();
    }
}
