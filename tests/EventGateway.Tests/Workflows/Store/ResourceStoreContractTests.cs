using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Tests.Workflows.Store;

/// <summary>
/// What every <see cref="IResourceStore"/> promises, run against each implementation (embedded SQLite, PostgreSQL).
/// Subclasses open a fresh, empty store and can reopen it over the same storage.
/// </summary>
public abstract class ResourceStoreContractTests<TStore> : IAsyncLifetime where TStore : class, IResourceStore, IDisposable
{
    private static readonly DateTimeOffset Start = new DateTimeOffset(2025, 3, 4, 5, 6, 7, 123, TimeSpan.Zero).AddTicks(4567);

    protected readonly FakeTimeProvider _time = new(Start);
    protected TStore _store = null!;

    /// <summary>Opens the store over this test's storage (the same storage each time).</summary>
    protected abstract Task<TStore> OpenAsync();

    protected virtual Task CloseAsync(TStore store)
    {
        store.Dispose();
        return Task.CompletedTask;
    }

    public virtual async Task InitializeAsync() => _store = await OpenAsync();

    public virtual async Task DisposeAsync() => await CloseAsync(_store);

    protected static Workflow Wf(string? name, string? ns = null, string? generateName = null, long? parallelism = null) => new()
    {
        ApiVersion = Resources.ArgoApiVersion,
        Kind = "Workflow",
        Metadata = new ObjectMeta { Name = name, Namespace = ns, GenerateName = generateName },
        Spec = new WorkflowSpec
        {
            Entrypoint = "main",
            Parallelism = parallelism,
            Templates = [new Template { Name = "main", Container = new Container { Image = "alpine" } }],
        },
    };

    protected static ConfigMap Cm(string name, string value, string? ns = null) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new ObjectMeta { Name = name, Namespace = ns },
        Data = new Dictionary<string, string> { ["value"] = value },
    };

    protected static long Rv(Resource r) => long.Parse(r.Metadata.ResourceVersion.ShouldNotBeNull(), System.Globalization.CultureInfo.InvariantCulture);

    // ---- create ----

    [Fact]
    public async Task Create_assigns_uid_version_timestamp_generation_and_default_namespace()
    {
        var wf = Wf("first");
        var created = await _store.CreateAsync(wf);

        created.ShouldBeSameAs(wf);
        Guid.TryParse(created.Metadata.Uid, out _).ShouldBeTrue();
        created.Metadata.ResourceVersion.ShouldBe("1");
        created.Metadata.Generation.ShouldBe(1L);
        created.Metadata.Namespace.ShouldBe("default");
        created.Metadata.CreationTimestamp.ShouldBe(new DateTimeOffset(2025, 3, 4, 5, 6, 7, 123, TimeSpan.Zero)); // truncated to milliseconds

        var stored = (await _store.GetAsync<Workflow>("default", "first")).ShouldNotBeNull();
        stored.ShouldNotBeSameAs(created);
        stored.Metadata.Uid.ShouldBe(created.Metadata.Uid);
        stored.Metadata.ResourceVersion.ShouldBe("1");
        stored.Metadata.CreationTimestamp.ShouldBe(created.Metadata.CreationTimestamp);
        stored.Metadata.Namespace.ShouldBe("default");
        stored.Spec.Entrypoint.ShouldBe("main");
        stored.Spec.Templates!.Single().Container!.Image.ShouldBe("alpine");

        _time.Advance(TimeSpan.FromSeconds(90));
        var second = await _store.CreateAsync(Wf("second", "team-a"));
        second.Metadata.ResourceVersion.ShouldBe("2");
        second.Metadata.Namespace.ShouldBe("team-a");
        second.Metadata.Uid.ShouldNotBe(created.Metadata.Uid);
        second.Metadata.CreationTimestamp.ShouldBe(new DateTimeOffset(2025, 3, 4, 5, 7, 37, 123, TimeSpan.Zero));
    }

    [Fact]
    public async Task Create_with_generate_name_assigns_a_random_suffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        var names = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var wf = await _store.CreateAsync(Wf(null, generateName: "hello-"));
            var name = wf.Metadata.Name.ShouldNotBeNull();
            name.Length.ShouldBe("hello-".Length + 5);
            name.ShouldStartWith("hello-");
            name["hello-".Length..].ShouldAllBe(c => alphabet.Contains(c));
            wf.Metadata.GenerateName.ShouldBe("hello-");
            names.Add(name);
        }
        names.Distinct().Count().ShouldBe(20);
        (await _store.ListAsync<Workflow>("default")).Select(w => w.Name).ShouldBe(names.Order(StringComparer.Ordinal), ignoreOrder: false);
    }

    [Fact]
    public async Task Create_of_an_existing_name_is_a_conflict_and_changes_nothing()
    {
        var original = await _store.CreateAsync(Wf("dup", parallelism: 1));
        var again = Wf("dup", parallelism: 9);

        var e = await Should.ThrowAsync<ConflictException>(() => _store.CreateAsync(again));
        e.Message.ShouldBe("Workflow default/dup already exists");
        again.Metadata.Uid.ShouldBeNull();
        again.Metadata.ResourceVersion.ShouldBeNull();

        var stored = (await _store.GetAsync<Workflow>("default", "dup")).ShouldNotBeNull();
        stored.Metadata.Uid.ShouldBe(original.Metadata.Uid);
        stored.Spec.Parallelism.ShouldBe(1L);
        stored.Metadata.ResourceVersion.ShouldBe("1");

        // The same name is free in another namespace and for another kind; the failed create used no version.
        (await _store.CreateAsync(Wf("dup", "other"))).Metadata.ResourceVersion.ShouldBe("2");
        (await _store.CreateAsync(Cm("dup", "x"))).Metadata.ResourceVersion.ShouldBe("3");
    }

    [Fact]
    public async Task Create_without_kind_is_stored_under_the_type_kind()
    {
        var wf = Wf("kindless");
        wf.Kind = "";
        await _store.CreateAsync(wf);
        (await _store.GetAsync<Workflow>("default", "kindless")).ShouldNotBeNull();
    }

    // ---- update ----

    [Fact]
    public async Task Update_with_current_version_bumps_the_version()
    {
        var created = await _store.CreateAsync(Wf("upd", parallelism: 1));
        var copy = (await _store.GetAsync<Workflow>("default", "upd")).ShouldNotBeNull();
        copy.Spec.Parallelism = 2;

        var updated = await _store.UpdateAsync(copy);

        updated.ShouldBeSameAs(copy);
        updated.Metadata.ResourceVersion.ShouldBe("2");
        var stored = (await _store.GetAsync<Workflow>("default", "upd")).ShouldNotBeNull();
        stored.Spec.Parallelism.ShouldBe(2L);
        stored.Metadata.ResourceVersion.ShouldBe("2");
        stored.Metadata.Uid.ShouldBe(created.Metadata.Uid);
        stored.Metadata.CreationTimestamp.ShouldBe(created.Metadata.CreationTimestamp);

        stored.Spec.Parallelism = 3;
        (await _store.UpdateAsync(stored)).Metadata.ResourceVersion.ShouldBe("3");
    }

    [Fact]
    public async Task Update_with_stale_version_is_a_conflict_and_leaves_the_stored_object_unchanged()
    {
        await _store.CreateAsync(Wf("race", parallelism: 1));
        var mine = (await _store.GetAsync<Workflow>("default", "race")).ShouldNotBeNull();
        var theirs = (await _store.GetAsync<Workflow>("default", "race")).ShouldNotBeNull();

        theirs.Spec.Parallelism = 2;
        await _store.UpdateAsync(theirs);

        mine.Spec.Parallelism = 5;
        var e = await Should.ThrowAsync<ConflictException>(() => _store.UpdateAsync(mine));
        e.Message.ShouldBe("Workflow default/race was modified or deleted since resourceVersion 1; read it again");
        mine.Metadata.ResourceVersion.ShouldBe("1"); // restored on failure

        var stored = (await _store.GetAsync<Workflow>("default", "race")).ShouldNotBeNull();
        stored.Spec.Parallelism.ShouldBe(2L);
        stored.Metadata.ResourceVersion.ShouldBe("2");

        // The version taken by the refused update was rolled back with it.
        (await _store.CreateAsync(Cm("next", "x"))).Metadata.ResourceVersion.ShouldBe("3");
    }

    [Fact]
    public async Task Update_of_a_missing_or_unversioned_object_is_a_conflict()
    {
        var missing = Wf("ghost");
        missing.Metadata.ResourceVersion = "1";
        var e = await Should.ThrowAsync<ConflictException>(() => _store.UpdateAsync(missing));
        e.Message.ShouldBe("Workflow default/ghost was modified or deleted since resourceVersion 1; read it again");
        (await _store.GetAsync<Workflow>("default", "ghost")).ShouldBeNull();

        await _store.CreateAsync(Wf("unversioned"));
        var noVersion = Wf("unversioned", parallelism: 7);
        await Should.ThrowAsync<ConflictException>(() => _store.UpdateAsync(noVersion));
        noVersion.Metadata.ResourceVersion.ShouldBeNull();
        (await _store.GetAsync<Workflow>("default", "unversioned")).ShouldNotBeNull().Spec.Parallelism.ShouldBeNull();
    }

    [Fact]
    public async Task Update_after_delete_is_a_conflict()
    {
        await _store.CreateAsync(Wf("gone"));
        var copy = (await _store.GetAsync<Workflow>("default", "gone")).ShouldNotBeNull();
        (await _store.DeleteAsync<Workflow>("default", "gone")).ShouldBeTrue();
        await Should.ThrowAsync<ConflictException>(() => _store.UpdateAsync(copy));
        (await _store.GetAsync<Workflow>("default", "gone")).ShouldBeNull();
    }

    // ---- apply ----

    [Fact]
    public async Task Apply_creates_when_absent()
    {
        var cm = await _store.ApplyAsync(Cm("settings", "v1", "ops"));
        Guid.TryParse(cm.Metadata.Uid, out _).ShouldBeTrue();
        cm.Metadata.ResourceVersion.ShouldBe("1");
        cm.Metadata.Generation.ShouldBe(1L);
        cm.Metadata.CreationTimestamp.ShouldBe(new DateTimeOffset(2025, 3, 4, 5, 6, 7, 123, TimeSpan.Zero));
        (await _store.GetAsync<ConfigMap>("ops", "settings")).ShouldNotBeNull().Data!["value"].ShouldBe("v1");
    }

    [Fact]
    public async Task Apply_replaces_keeping_uid_and_creation_timestamp()
    {
        var first = await _store.ApplyAsync(Cm("settings", "v1"));
        var uid = first.Metadata.Uid;
        var created = first.Metadata.CreationTimestamp;

        _time.Advance(TimeSpan.FromHours(1));
        var replacement = Cm("settings", "v2");
        replacement.Metadata.Uid = "not-the-uid";
        replacement.Metadata.CreationTimestamp = DateTimeOffset.UnixEpoch;
        replacement.Metadata.ResourceVersion = "999"; // apply ignores versions
        var second = await _store.ApplyAsync(replacement);

        second.Metadata.Uid.ShouldBe(uid);
        second.Metadata.CreationTimestamp.ShouldBe(created);
        second.Metadata.ResourceVersion.ShouldBe("2");
        second.Metadata.Generation.ShouldBe(2L);
        second.Metadata.Namespace.ShouldBe("default");

        var stored = (await _store.GetAsync<ConfigMap>("default", "settings")).ShouldNotBeNull();
        stored.Data.ShouldBe(new Dictionary<string, string> { ["value"] = "v2" });
        stored.Metadata.Uid.ShouldBe(uid);
        stored.Metadata.CreationTimestamp.ShouldBe(created);
        stored.Metadata.ResourceVersion.ShouldBe("2");
        (await _store.ListAsync<ConfigMap>()).Count.ShouldBe(1);
    }

    [Fact]
    public async Task Applying_a_manifest_again_keeps_the_status_controllers_recorded()
    {
        var cron = new CronWorkflow { Kind = "CronWorkflow", ApiVersion = "argoproj.io/v1alpha1", Metadata = new ObjectMeta { Name = "nightly" }, Spec = new CronWorkflowSpec { Schedules = ["0 2 * * *"] } };
        await _store.ApplyAllAsync([cron]);
        var stored = (await _store.GetAsync<CronWorkflow>("default", "nightly"))!;
        stored.Status = new CronWorkflowStatus { Succeeded = 3, LastScheduledTime = new DateTimeOffset(2026, 11, 23, 2, 0, 0, TimeSpan.Zero) };
        await _store.UpdateAsync(stored);

        await _store.ApplyAllAsync([new CronWorkflow { Kind = "CronWorkflow", ApiVersion = "argoproj.io/v1alpha1", Metadata = new ObjectMeta { Name = "nightly" }, Spec = new CronWorkflowSpec { Schedules = ["0 3 * * *"] } }]);
        var reapplied = (await _store.GetAsync<CronWorkflow>("default", "nightly"))!;
        reapplied.Spec.Schedules.ShouldBe(["0 3 * * *"]);
        reapplied.Status.ShouldNotBeNull().Succeeded.ShouldBe(3);
        reapplied.Status.LastScheduledTime.ShouldBe(stored.Status.LastScheduledTime);
    }

    [Fact]
    public async Task ApplyAll_writes_every_object_and_announces_in_order()
    {
        await _store.CreateAsync(Cm("existing", "old"));
        var seen = new List<ResourceChange>();
        using var w1 = _store.Watch("ConfigMap", seen.Add);
        using var w2 = _store.Watch("Workflow", seen.Add);

        var batch = new List<Resource> { Cm("existing", "new"), Wf("named"), Wf(null, generateName: "gen-"), Cm("fresh", "x", "ops") };
        var result = await _store.ApplyAllAsync(batch);

        result.ShouldBe(batch);
        seen.Select(c => (c.Type, c.Kind, c.Namespace, c.ResourceVersion)).ShouldBe(
        [
            (ChangeType.Modified, "ConfigMap", "default", 2L),
            (ChangeType.Added, "Workflow", "default", 3L),
            (ChangeType.Added, "Workflow", "default", 4L),
            (ChangeType.Added, "ConfigMap", "ops", 5L),
        ]);
        seen[2].Name.ShouldStartWith("gen-");
        (await _store.GetAsync<ConfigMap>("default", "existing")).ShouldNotBeNull().Data!["value"].ShouldBe("new");
        (await _store.ListAsync<Workflow>()).Count.ShouldBe(2);

        // A generateName workflow applied again is a new workflow; a named one is replaced.
        await _store.ApplyAllAsync([Wf("named", parallelism: 4), Wf(null, generateName: "gen-")]);
        (await _store.ListAsync<Workflow>()).Count.ShouldBe(3);
        (await _store.GetAsync<Workflow>("default", "named")).ShouldNotBeNull().Spec.Parallelism.ShouldBe(4L);
    }

    /// <summary>
    /// ApplyAllAsync has no validation of its own, so the one real way to make it fail mid-batch is an object that cannot
    /// be serialised: a template whose inline step refers back to the template itself (an object cycle), which makes
    /// System.Text.Json throw after the earlier objects were already written inside the transaction.
    /// </summary>
    [Fact]
    public async Task ApplyAll_is_atomic_when_an_object_fails_mid_batch()
    {
        var before = await _store.CreateAsync(Cm("existing", "old"));
        var seen = new List<ResourceChange>();
        using var watch = _store.Watch("ConfigMap", seen.Add);
        using var wfWatch = _store.Watch("Workflow", seen.Add);

        var cyclic = Wf("cyclic");
        var loop = new Template { Name = "loop" };
        loop.Steps = [[new WorkflowStep { Name = "again", Inline = loop }]];
        cyclic.Spec.Templates!.Add(loop);

        await Should.ThrowAsync<JsonException>(() => _store.ApplyAllAsync([Cm("existing", "new"), Cm("brand-new", "x"), cyclic, Cm("after", "y")]));

        seen.ShouldBeEmpty();
        var existing = (await _store.GetAsync<ConfigMap>("default", "existing")).ShouldNotBeNull();
        existing.Data!["value"].ShouldBe("old");
        existing.Metadata.ResourceVersion.ShouldBe(before.Metadata.ResourceVersion);
        (await _store.GetAsync<ConfigMap>("default", "brand-new")).ShouldBeNull();
        (await _store.GetAsync<ConfigMap>("default", "after")).ShouldBeNull();
        (await _store.ListAsync<Workflow>()).ShouldBeEmpty();
        (await _store.ListAsync<ConfigMap>()).Select(c => c.Name).ShouldBe(["existing"]);

        // The versions used inside the failed transaction were rolled back too.
        (await _store.CreateAsync(Cm("later", "z"))).Metadata.ResourceVersion.ShouldBe("2");
    }

    // ---- delete ----

    [Fact]
    public async Task Delete_removes_the_object_and_reports_whether_it_existed()
    {
        await _store.CreateAsync(Wf("doomed"));
        await _store.CreateAsync(Wf("kept"));
        await _store.CreateAsync(Wf("doomed", "elsewhere"));

        (await _store.DeleteAsync<Workflow>("default", "doomed")).ShouldBeTrue();
        (await _store.GetAsync<Workflow>("default", "doomed")).ShouldBeNull();
        (await _store.GetAsync<Workflow>("elsewhere", "doomed")).ShouldNotBeNull();
        (await _store.ListAsync<Workflow>()).Select(w => $"{w.Metadata.Namespace}/{w.Name}").ShouldBe(["default/kept", "elsewhere/doomed"]);

        (await _store.DeleteAsync<Workflow>("default", "doomed")).ShouldBeFalse();
        (await _store.DeleteAsync<ConfigMap>("default", "kept")).ShouldBeFalse(); // a Workflow, not a ConfigMap
        (await _store.GetAsync<Workflow>("default", "kept")).ShouldNotBeNull();

        // Recreating after delete gives a new uid.
        var again = await _store.CreateAsync(Wf("doomed"));
        again.Metadata.Uid.ShouldNotBeNull();
    }

    // ---- watch ----

    [Fact]
    public async Task Watch_receives_added_modified_deleted_in_order_and_stops_after_dispose()
    {
        var seen = new List<ResourceChange>();
        var watch = _store.Watch("Workflow", seen.Add);

        var a = await _store.CreateAsync(Wf("a", "ns1"));
        await _store.CreateAsync(Cm("not-a-workflow", "x"));
        a.Spec.Parallelism = 3;
        await _store.UpdateAsync(a);
        var b = await _store.ApplyAsync(Wf("b", "ns1"));
        await _store.ApplyAsync(Wf("b", "ns1", parallelism: 2));
        await _store.DeleteAsync<Workflow>("ns1", "a");
        await _store.DeleteAsync<Workflow>("ns1", "never-existed");

        seen.Select(c => (c.Type, c.Kind, c.Namespace, c.Name)).ShouldBe(
        [
            (ChangeType.Added, "Workflow", "ns1", "a"),
            (ChangeType.Modified, "Workflow", "ns1", "a"),
            (ChangeType.Added, "Workflow", "ns1", "b"),
            (ChangeType.Modified, "Workflow", "ns1", "b"),
            (ChangeType.Deleted, "Workflow", "ns1", "a"),
        ]);
        seen.Select(c => c.ResourceVersion).ShouldBe([1L, 3L, 4L, 5L, 6L]);
        seen[1].ResourceVersion.ShouldBe(Rv(a));
        seen[2].ResourceVersion.ShouldBe(Rv(b));
        seen.Zip(seen.Skip(1)).ShouldAllBe(p => p.First.ResourceVersion < p.Second.ResourceVersion);

        watch.Dispose();
        watch.Dispose(); // twice is harmless
        await _store.CreateAsync(Wf("c", "ns1"));
        await _store.DeleteAsync<Workflow>("ns1", "b");
        seen.Count.ShouldBe(5);
    }

    [Fact]
    public async Task Disposing_one_watcher_leaves_the_others()
    {
        var first = new List<string>();
        var second = new List<string>();
        var w1 = _store.Watch("ConfigMap", c => first.Add(c.Name));
        using var w2 = _store.Watch("ConfigMap", c => second.Add(c.Name));

        await _store.CreateAsync(Cm("one", "1"));
        w1.Dispose();
        await _store.CreateAsync(Cm("two", "2"));

        first.ShouldBe(["one"]);
        second.ShouldBe(["one", "two"]);
    }

    [Fact]
    public async Task A_throwing_watcher_surfaces_after_the_change_is_committed()
    {
        using var w = _store.Watch("ConfigMap", _ => throw new InvalidOperationException("watcher failed"));
        var e = await Should.ThrowAsync<InvalidOperationException>(() => _store.CreateAsync(Cm("committed", "x")));
        e.Message.ShouldBe("watcher failed");
        (await _store.GetAsync<ConfigMap>("default", "committed")).ShouldNotBeNull();
    }

    // ---- restart ----

    [Fact]
    public async Task Data_and_version_counter_survive_reopening_the_store()
    {
        var wf = await _store.CreateAsync(Wf("durable", "team-a", parallelism: 2));
        await _store.CreateAsync(Cm("settings", "v1"));
        await _store.DeleteAsync<ConfigMap>("default", "settings");

        await CloseAsync(_store);
        _store = await OpenAsync();

        var reread = (await _store.GetAsync<Workflow>("team-a", "durable")).ShouldNotBeNull();
        reread.Metadata.Uid.ShouldBe(wf.Metadata.Uid);
        reread.Metadata.ResourceVersion.ShouldBe("1");
        reread.Metadata.CreationTimestamp.ShouldBe(wf.Metadata.CreationTimestamp);
        reread.Spec.Parallelism.ShouldBe(2L);
        (await _store.GetAsync<ConfigMap>("default", "settings")).ShouldBeNull();

        // Versions continue after the last one used before the restart (3: the delete).
        (await _store.CreateAsync(Cm("settings", "v2"))).Metadata.ResourceVersion.ShouldBe("4");
        await Should.ThrowAsync<ConflictException>(() => _store.CreateAsync(Wf("durable", "team-a")));
    }

    // ---- scope and listing ----

    [Fact]
    public async Task Cluster_workflow_template_is_stored_without_namespace()
    {
        var seen = new List<ResourceChange>();
        using var w = _store.Watch("ClusterWorkflowTemplate", seen.Add);
        var cwt = new ClusterWorkflowTemplate
        {
            ApiVersion = Resources.ArgoApiVersion,
            Kind = "ClusterWorkflowTemplate",
            Metadata = new ObjectMeta { Name = "shared", Namespace = "argo" },
            Spec = new WorkflowSpec { Templates = [new Template { Name = "hello", Container = new Container { Image = "alpine" } }] },
        };

        var created = await _store.CreateAsync(cwt);

        created.Metadata.Namespace.ShouldBeNull();
        seen.ShouldHaveSingleItem().Namespace.ShouldBe("");
        (await _store.GetAsync<ClusterWorkflowTemplate>("", "shared")).ShouldNotBeNull().Metadata.Namespace.ShouldBeNull();
        (await _store.GetAsync<ClusterWorkflowTemplate>("any-namespace", "shared")).ShouldNotBeNull();
        (await _store.ListAsync<ClusterWorkflowTemplate>("whatever")).Select(t => t.Name).ShouldBe(["shared"]);
        (await _store.ListAsync<ClusterWorkflowTemplate>()).Select(t => t.Name).ShouldBe(["shared"]);

        var again = new ClusterWorkflowTemplate { ApiVersion = Resources.ArgoApiVersion, Kind = "ClusterWorkflowTemplate", Metadata = new ObjectMeta { Name = "shared", Namespace = "other" } };
        var e = await Should.ThrowAsync<ConflictException>(() => _store.CreateAsync(again));
        e.Message.ShouldBe("ClusterWorkflowTemplate /shared already exists");

        (await _store.DeleteAsync<ClusterWorkflowTemplate>("ignored", "shared")).ShouldBeTrue();
        (await _store.ListAsync<ClusterWorkflowTemplate>()).ShouldBeEmpty();
    }

    [Fact]
    public async Task List_by_namespace_or_all_namespaces()
    {
        await _store.CreateAsync(Wf("w2", "a"));
        await _store.CreateAsync(Wf("w0"));
        await _store.CreateAsync(Wf("w3", "b"));
        await _store.CreateAsync(Wf("w1", "a"));
        await _store.CreateAsync(Cm("cm", "x", "a"));
        await _store.CreateAsync(new WorkflowTemplate { ApiVersion = Resources.ArgoApiVersion, Kind = "WorkflowTemplate", Metadata = new ObjectMeta { Name = "w9", Namespace = "a" } });

        (await _store.ListAsync<Workflow>()).Select(w => $"{w.Metadata.Namespace}/{w.Name}").ShouldBe(["a/w1", "a/w2", "b/w3", "default/w0"]);
        (await _store.ListAsync<Workflow>("a")).Select(w => w.Name).ShouldBe(["w1", "w2"]);
        (await _store.ListAsync<Workflow>("default")).Select(w => w.Name).ShouldBe(["w0"]);
        (await _store.ListAsync<Workflow>("nowhere")).ShouldBeEmpty();
        (await _store.ListAsync<ConfigMap>()).Select(c => c.Name).ShouldBe(["cm"]);
        (await _store.ListAsync<WorkflowTemplate>("a")).Select(c => c.Name).ShouldBe(["w9"]);
    }

    [Fact]
    public async Task Get_is_scoped_by_kind_and_namespace_and_returns_independent_copies()
    {
        await _store.CreateAsync(Wf("x", "a", parallelism: 1));
        (await _store.GetAsync<Workflow>("b", "x")).ShouldBeNull();
        (await _store.GetAsync<WorkflowTemplate>("a", "x")).ShouldBeNull();

        var one = (await _store.GetAsync<Workflow>("a", "x")).ShouldNotBeNull();
        one.Spec.Parallelism = 99;
        (await _store.GetAsync<Workflow>("a", "x")).ShouldNotBeNull().Spec.Parallelism.ShouldBe(1L);
    }

    [Fact]
    public async Task Status_round_trips_through_the_store()
    {
        var wf = Wf("with-status");
        wf.Status = new WorkflowStatus
        {
            Phase = WorkflowPhase.Running,
            StartedAt = new DateTimeOffset(2025, 1, 1, 0, 0, 0, 250, TimeSpan.Zero),
            Nodes = new Dictionary<string, NodeStatus> { ["n1"] = new() { Id = "n1", Name = "with-status", Type = NodeType.Steps, Phase = NodePhase.Running } },
        };
        await _store.CreateAsync(wf);
        var stored = (await _store.GetAsync<Workflow>("default", "with-status")).ShouldNotBeNull();
        stored.Status.ShouldNotBeNull().Phase.ShouldBe("Running");
        stored.Status.StartedAt.ShouldBe(new DateTimeOffset(2025, 1, 1, 0, 0, 0, 250, TimeSpan.Zero));
        stored.Status.Nodes.ShouldNotBeNull()["n1"].Type.ShouldBe("Steps");
    }
}
