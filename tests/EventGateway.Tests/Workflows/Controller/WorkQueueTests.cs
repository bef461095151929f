using EventGateway.Workflows.Controller;
using Shouldly;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>The controller's queue: one entry per key however often it is added, never a key at two workers, nothing added while a key is worked on lost, urgent keys first.</summary>
public sealed class WorkQueueTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_key_added_many_times_is_handed_out_once()
    {
        var q = new WorkQueue();
        q.Add("a");
        q.Add("a");
        q.Add("b");

        (await q.TakeAsync(default)).ShouldBe("a");
        (await q.TakeAsync(default)).ShouldBe("b");
        using var none = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Should.ThrowAsync<OperationCanceledException>(async () => await q.TakeAsync(none.Token));
    }

    [Fact]
    public async Task A_key_added_while_worked_on_waits_for_its_worker_then_comes_again()
    {
        var q = new WorkQueue();
        q.Add("a");
        var key = await q.TakeAsync(default);

        q.Add("a"); // a change arrives during the pass
        var second = q.TakeAsync(default).AsTask();
        using (var notYet = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
            await Should.ThrowAsync<OperationCanceledException>(async () => await second.WaitAsync(notYet.Token));

        q.Done(key);
        (await second.WaitAsync(Wait)).ShouldBe("a");
    }

    [Fact]
    public async Task Many_workers_never_hold_one_key_at_once_and_see_every_last_change()
    {
        var q = new WorkQueue();
        var holders = new int[8];
        var overlaps = 0;
        var lastSeen = new long[8];
        var version = new long[8];
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var key = await q.TakeAsync(stop.Token);
                    var i = int.Parse(key, System.Globalization.CultureInfo.InvariantCulture);
                    if (Interlocked.Increment(ref holders[i]) > 1) Interlocked.Increment(ref overlaps);
                    Volatile.Write(ref lastSeen[i], Volatile.Read(ref version[i]));
                    await Task.Yield();
                    Interlocked.Decrement(ref holders[i]);
                    q.Done(key);
                }
            }
            catch (OperationCanceledException) { }
        })).ToList();

        for (var n = 0; n < 20_000; n++)
        {
            var i = n % 8;
            Interlocked.Increment(ref version[i]);
            q.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        await EventGateway.Tests.Support.Eventually.Get(() => Task.FromResult<object?>(
            Enumerable.Range(0, 8).All(i => Volatile.Read(ref lastSeen[i]) == Volatile.Read(ref version[i])) ? "" : null), "every key's last change to be seen");
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        overlaps.ShouldBe(0);
    }
    [Fact]
    public async Task Urgent_keys_go_before_keys_queued_earlier_and_an_urgent_add_moves_a_queued_key_up_once()
    {
        var q = new WorkQueue();
        q.Add("new-1");
        q.Add("new-2");
        q.Add("running", urgent: true); // a step of it ended
        q.Add("new-2", urgent: true);   // a released lock lets it start

        (await q.TakeAsync(default)).ShouldBe("running");
        (await q.TakeAsync(default)).ShouldBe("new-2");
        (await q.TakeAsync(default)).ShouldBe("new-1");
        using var none = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Should.ThrowAsync<OperationCanceledException>(async () => await q.TakeAsync(none.Token)); // new-2's first entry is not handed out again
    }

    [Fact]
    public async Task A_stream_of_urgent_keys_does_not_starve_the_others()
    {
        var q = new WorkQueue();
        q.Add("new");
        var taken = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            q.Add($"ended-{i}", urgent: true);
            var key = await q.TakeAsync(default);
            taken.Add(key);
            q.Done(key);
            if (key == "new") break;
        }

        taken.ShouldContain("new");
        taken.Count.ShouldBeLessThanOrEqualTo(10);
    }

    [Fact]
    public async Task An_urgent_add_while_worked_on_comes_again_before_the_others()
    {
        var q = new WorkQueue();
        q.Add("a", urgent: true);
        var key = await q.TakeAsync(default);
        q.Add("b");
        q.Add("a", urgent: true);

        q.Done(key);

        (await q.TakeAsync(default)).ShouldBe("a");
        (await q.TakeAsync(default)).ShouldBe("b");
    }
}
