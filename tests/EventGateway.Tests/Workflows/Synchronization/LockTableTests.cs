using EventGateway.Model;
using EventGateway.Workflows.Synchronization;
using Shouldly;

namespace EventGateway.Tests.Workflows.Synchronization;

/// <summary>
/// The lock table rebuilt from stored statuses at a controller start: with several reconcile workers, a newcomer
/// can be looked at before a waiter from before the restart has had its first pass; the waiter keeps its place.
/// </summary>
public sealed class LockTableTests
{
    private const string Key = "default/Mutex/deploy";
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly LockName Deploy = LockName.Parse(Key)!;

    private static Workflow Stored(string name, DateTimeOffset created, bool workflowLevel, SynchronizationStatus? sync, Dictionary<string, NodeStatus>? nodes = null) => new()
    {
        Metadata = new ObjectMeta { Name = name, Namespace = "default", CreationTimestamp = created },
        Spec = new WorkflowSpec { Synchronization = workflowLevel ? new EventGateway.Model.Synchronization { Mutexes = [new MutexRef { Name = "deploy" }] } : null },
        Status = new WorkflowStatus { Phase = WorkflowPhase.Running, Synchronization = sync, Nodes = nodes ?? [] },
    };

    private static SynchronizationStatus Holding(string holder) => new() { Mutex = new MutexStatus { Holding = [new MutexHolding { Mutex = Key, Holder = holder }] } };

    private static SynchronizationStatus Waiting(string holder) => new() { Mutex = new MutexStatus { Waiting = [new MutexHolding { Mutex = Key, Holder = holder }] } };

    [Fact]
    public void A_workflow_that_waited_before_the_restart_goes_before_a_newcomer_that_asked_first()
    {
        var woken = new List<string>();
        var table = new LockTable(woken.Add, _ => { });
        table.Restore(Stored("keeper", T0, workflowLevel: true, Holding("default/keeper")));
        table.Restore(Stored("before", T0.AddMinutes(1), workflowLevel: true, Waiting("default/keeper")));

        table.TryAcquire("default/after", [Deploy], 0, T0.AddMinutes(2)).Granted.ShouldBeFalse("the mutex is held");
        table.Release("default/keeper");

        woken.ShouldBe(["default/before"], "the waiter from before the restart is the front of the queue");
        table.TryAcquire("default/after", [Deploy], 0, T0.AddMinutes(2)).Granted.ShouldBeFalse("the older waiter goes first");
        table.TryAcquire("default/before", [Deploy], 0, T0.AddMinutes(1)).Granted.ShouldBeTrue();
    }

    [Fact]
    public void A_node_that_waited_before_the_restart_keeps_its_place()
    {
        var woken = new List<string>();
        var table = new LockTable(woken.Add, _ => { });
        table.Restore(Stored("keeper", T0, workflowLevel: true, Holding("default/keeper")));
        var waitingNode = new NodeStatus { Id = "before-1", Phase = NodePhase.Pending, SynchronizationStatus = new NodeSynchronizationStatus { Waiting = Key } };
        var endedNode = new NodeStatus { Id = "before-2", Phase = NodePhase.Succeeded, SynchronizationStatus = new NodeSynchronizationStatus { Waiting = Key } };
        table.Restore(Stored("before", T0.AddMinutes(1), workflowLevel: false, Waiting("default/keeper"),
            new() { [waitingNode.Id] = waitingNode, [endedNode.Id] = endedNode }));

        table.TryAcquire("default/after", [Deploy], 0, T0.AddMinutes(2)).Granted.ShouldBeFalse();
        table.Release("default/keeper");

        woken.ShouldBe(["default/before"]);
        table.TryAcquire("default/before/before-1", [Deploy], 0, T0.AddMinutes(1)).Granted.ShouldBeTrue("the waiting node is the front");
        table.Holders(Deploy).ShouldBe(["default/before/before-1"], "an ended node is not restored as a waiter");
    }
}
