using EventGateway.Model;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;
using Microsoft.Extensions.Time.Testing;
using Shouldly;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// How often a running workflow's status is written: every pass that changes the phase at once, the rest at most
/// once per interval, and the interval grows with what a save costs (ten times its duration), so a huge status
/// does not spend the machine on saves. The store is a real SQLite file; only its clock is the test's.
/// </summary>
public sealed class StatusSaverTests : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-saver-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-07T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_save_that_takes_long_spaces_out_the_next_ones()
    {
        var store = new SlowStore(new SqliteResourceStore(Path.Combine(_dir, "store.db"), _time), _time);
        var wf = await NewWorkflowAsync(store);
        using var saver = new StatusSaver(store, _time, Interval, new NoObserver(), wf, () => { }, _ => { });

        store.Cost = TimeSpan.FromMilliseconds(100);
        await saver.PassedAsync(null, completed: false, default); // the first pass saves
        store.Saves.ShouldBe(1);

        store.Cost = TimeSpan.Zero;
        _time.Advance(TimeSpan.FromMilliseconds(300)); // past the configured interval, not past ten saves' worth
        await saver.PassedAsync(WorkflowPhase.Running, completed: false, default);
        store.Saves.ShouldBe(1);
        saver.Dirty.ShouldBeTrue();

        _time.Advance(TimeSpan.FromMilliseconds(700)); // 1 s after a save that took 100 ms
        await saver.PassedAsync(WorkflowPhase.Running, completed: false, default);
        store.Saves.ShouldBe(2);

        // That save was fast: the configured interval applies again.
        _time.Advance(TimeSpan.FromMilliseconds(260));
        await saver.PassedAsync(WorkflowPhase.Running, completed: false, default);
        store.Saves.ShouldBe(3);
    }

    [Fact]
    public async Task A_completed_workflow_is_saved_at_once_however_slow_saves_are()
    {
        var store = new SlowStore(new SqliteResourceStore(Path.Combine(_dir, "store.db"), _time), _time) { Cost = TimeSpan.FromSeconds(2) };
        var wf = await NewWorkflowAsync(store);
        using var saver = new StatusSaver(store, _time, Interval, new NoObserver(), wf, () => { }, _ => { });
        await saver.PassedAsync(null, completed: false, default);

        wf.Status!.Phase = WorkflowPhase.Succeeded;
        await saver.PassedAsync(WorkflowPhase.Running, completed: true, default);

        store.Saves.ShouldBe(2);
        (await store.GetAsync<Workflow>("default", wf.Name))!.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
    }

    private static async Task<Workflow> NewWorkflowAsync(IResourceStore store)
    {
        var wf = new Workflow { Metadata = new ObjectMeta { Name = "saver", Namespace = "default" }, Spec = new WorkflowSpec { Entrypoint = "main" } };
        wf = await store.CreateAsync(wf);
        wf.Status = new WorkflowStatus { Phase = WorkflowPhase.Running };
        return wf;
    }

    private sealed class NoObserver : IWorkflowObserver;

    /// <summary>The real store, whose updates take <see cref="Cost"/> on the test's clock.</summary>
    private sealed class SlowStore(IResourceStore inner, FakeTimeProvider time) : IResourceStore
    {
        public TimeSpan Cost { get; set; }
        public int Saves { get; private set; }

        public async Task<T> UpdateAsync<T>(T resource, CancellationToken ct = default) where T : Resource
        {
            var saved = await inner.UpdateAsync(resource, ct);
            time.Advance(Cost);
            Saves++;
            return saved;
        }

        public Task<T?> GetAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.GetAsync<T>(@namespace, name, ct);
        public Task<IReadOnlyList<T>> ListAsync<T>(string? @namespace = null, CancellationToken ct = default) where T : Resource => inner.ListAsync<T>(@namespace, ct);
        public Task<T> CreateAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.CreateAsync(resource, ct);
        public Task<T> ApplyAsync<T>(T resource, CancellationToken ct = default) where T : Resource => inner.ApplyAsync(resource, ct);
        public Task<IReadOnlyList<Resource>> ApplyAllAsync(IReadOnlyList<Resource> resources, CancellationToken ct = default) => inner.ApplyAllAsync(resources, ct);
        public Task<bool> DeleteAsync<T>(string @namespace, string name, CancellationToken ct = default) where T : Resource => inner.DeleteAsync<T>(@namespace, name, ct);
        public IDisposable Watch(string kind, Action<ResourceChange> onChange) => inner.Watch(kind, onChange);
    }
}
