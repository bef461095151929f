using Shouldly;
using EventGateway.Workflows.Controller;

namespace EventGateway.Tests.Workflows.Controller;

public sealed class NodeIdsTests
{
    [Fact]
    public void Ids_of_a_10000_step_fan_out_are_distinct()
    {
        // With a 32-bit hash this workflow name gave two of its steps one id, and the run hung.
        const string wf = "bench-fanout-5nz8v";
        var ids = Enumerable.Range(0, 10_000).Select(i => NodeIds.For(wf, $"{wf}[0].noop({i}:{i})")).ToList();
        ids.Distinct().Count().ShouldBe(10_000);
        NodeIds.For(wf, wf).ShouldBe(wf);
        NodeIds.For(wf, $"{wf}[0].noop(1:1)").ShouldBe(NodeIds.For(wf, $"{wf}[0].noop(1:1)"));
    }
}
