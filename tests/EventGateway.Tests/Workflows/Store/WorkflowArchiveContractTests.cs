using Shouldly;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Workflows.Store;

/// <summary>
/// What every <see cref="IWorkflowArchive"/> promises, run against each implementation (embedded SQLite, PostgreSQL):
/// newest archived first, pages with continue tokens, label selectors, summaries without nodes or spec.
/// </summary>
public abstract class WorkflowArchiveContractTests<TArchive> : IAsyncLifetime where TArchive : class, IWorkflowArchive
{
    protected static readonly DateTimeOffset T0 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);
    protected TArchive _archive = null!;

    protected abstract Task<TArchive> OpenAsync();

    protected virtual Task CloseAsync(TArchive archive)
    {
        (archive as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    public virtual async Task InitializeAsync() => _archive = await OpenAsync();

    public virtual async Task DisposeAsync() => await CloseAsync(_archive);

    protected static Workflow Finished(string name, string ns = "default", int minute = 0, Dictionary<string, string>? labels = null, string? uid = null) => new()
    {
        ApiVersion = Resources.ArgoApiVersion,
        Kind = "Workflow",
        Metadata = new ObjectMeta { Name = name, Namespace = ns, Uid = uid ?? $"uid-{ns}-{name}", Labels = labels, CreationTimestamp = T0 },
        Spec = new WorkflowSpec { Entrypoint = "main", Templates = [new Template { Name = "main", Container = new Container { Image = "alpine" } }] },
        Status = new WorkflowStatus
        {
            Phase = WorkflowPhase.Succeeded,
            FinishedAt = T0.AddMinutes(minute),
            Nodes = new Dictionary<string, NodeStatus> { [name] = new() { Id = name, Name = name, Type = NodeType.Pod, Phase = NodePhase.Succeeded } },
        },
    };

    private async Task<List<string>> AllNamesAsync(ArchiveQuery query)
    {
        var names = new List<string>();
        for (var page = await _archive.ListAsync(query); ; page = await _archive.ListAsync(query with { Continue = page.Continue }))
        {
            names.AddRange(page.Items.Select(w => w.Name));
            if (page.Continue is null) return names;
        }
    }

    [Fact]
    public async Task An_archived_workflow_is_read_back_whole_and_survives_reopening()
    {
        await _archive.ArchiveAsync(Finished("done"));
        await CloseAsync(_archive);
        _archive = await OpenAsync();

        (await _archive.ContainsAsync("uid-default-done")).ShouldBeTrue();
        (await _archive.ContainsAsync("uid-nope")).ShouldBeFalse();
        var wf = (await _archive.GetAsync("uid-default-done")).ShouldNotBeNull();
        wf.Spec.Templates!.Single().Container!.Image.ShouldBe("alpine");
        wf.Status!.Nodes!.Keys.ShouldBe(["done"]);
        (await _archive.GetAsync("uid-nope")).ShouldBeNull();
    }

    [Fact]
    public async Task Listing_and_find_give_summaries_without_nodes_or_spec()
    {
        await _archive.ArchiveAsync(Finished("done"));
        var listed = (await _archive.ListAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 10, null))).Items.ShouldHaveSingleItem();
        listed.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        listed.Status.Nodes.ShouldBeNull();
        listed.Spec.Templates.ShouldBeNull();

        var found = (await _archive.FindAsync("default", "done")).ShouldNotBeNull();
        found.Metadata.Uid.ShouldBe("uid-default-done");
        found.Status!.Nodes.ShouldBeNull();
        (await _archive.FindAsync("other", "done")).ShouldBeNull();
    }

    [Fact]
    public async Task Find_gives_the_newest_run_of_a_name()
    {
        await _archive.ArchiveAsync(Finished("nightly", uid: "run-1", minute: 1));
        await _archive.ArchiveAsync(Finished("nightly", uid: "run-2", minute: 2));
        (await _archive.FindAsync("default", "nightly")).ShouldNotBeNull().Metadata.Uid.ShouldBe("run-2");
    }

    [Fact]
    public async Task Pages_go_newest_first_with_continue_tokens_and_filters()
    {
        for (var i = 0; i < 7; i++)
            await _archive.ArchiveAsync(Finished($"wf-{i}", i % 2 == 0 ? "a" : "b", i, new Dictionary<string, string> { ["tier"] = i < 4 ? "web" : "db" }));
        await _archive.ArchiveAsync(Finished("other-7", "a", 7));

        var first = await _archive.ListAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 3, null));
        first.Items.Select(w => w.Name).ShouldBe(["other-7", "wf-6", "wf-5"]);
        first.Continue.ShouldNotBeNull();
        (await AllNamesAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 3, null))).ShouldBe(["other-7", "wf-6", "wf-5", "wf-4", "wf-3", "wf-2", "wf-1", "wf-0"]);
        (await AllNamesAsync(new ArchiveQuery("a", null, LabelMatcher.Everything, 2, null))).ShouldBe(["other-7", "wf-6", "wf-4", "wf-2", "wf-0"]);
        (await AllNamesAsync(new ArchiveQuery(null, "wf-", LabelMatcher.Parse("tier=web"), 2, null))).ShouldBe(["wf-3", "wf-2", "wf-1", "wf-0"]);
        (await AllNamesAsync(new ArchiveQuery("b", "wf-", LabelMatcher.Parse("tier!=web"), 1, null))).ShouldBe(["wf-5"]);
        (await _archive.ListAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 8, null))).Continue.ShouldBeNull();
    }

    [Fact]
    public async Task A_run_archived_again_is_replaced_and_keeps_its_place()
    {
        await _archive.ArchiveAsync(Finished("first", minute: 1));
        await _archive.ArchiveAsync(Finished("second", minute: 2));
        var retried = Finished("first", minute: 3);
        retried.Status!.Phase = WorkflowPhase.Failed;
        await _archive.ArchiveAsync(retried);

        var names = (await _archive.ListAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 10, null))).Items;
        names.Select(w => (w.Name, w.Status!.Phase)).ShouldBe([("second", WorkflowPhase.Succeeded), ("first", WorkflowPhase.Failed)]);
    }

    [Fact]
    public async Task A_token_this_archive_did_not_give_is_refused()
    {
        var e = await Should.ThrowAsync<FormatException>(() => _archive.ListAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 10, "abc")));
        e.Message.ShouldBe("continue token 'abc' is not one this server gave");
    }

    [Fact]
    public async Task Delete_by_uid_and_by_finish_time()
    {
        await _archive.ArchiveAsync(Finished("old", minute: 0));
        await _archive.ArchiveAsync(Finished("mid", minute: 30));
        await _archive.ArchiveAsync(Finished("new", minute: 60));

        (await _archive.DeleteAsync("uid-default-mid")).ShouldBeTrue();
        (await _archive.DeleteAsync("uid-default-mid")).ShouldBeFalse();
        (await _archive.DeleteFinishedBeforeAsync(T0.AddMinutes(45))).ShouldBe(1);
        (await AllNamesAsync(new ArchiveQuery(null, null, LabelMatcher.Everything, 10, null))).ShouldBe(["new"]);
    }

    [Fact]
    public async Task A_workflow_without_uid_is_refused()
    {
        var wf = Finished("anon");
        wf.Metadata.Uid = null;
        (await Should.ThrowAsync<ArgumentException>(() => _archive.ArchiveAsync(wf))).Message.ShouldContain("anon has no uid");
    }
}

public sealed class SqliteWorkflowArchiveTests : WorkflowArchiveContractTests<SqliteWorkflowArchive>
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-archive-").FullName;

    protected override Task<SqliteWorkflowArchive> OpenAsync() => Task.FromResult(new SqliteWorkflowArchive(Path.Combine(_dir, "archive.db")));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
