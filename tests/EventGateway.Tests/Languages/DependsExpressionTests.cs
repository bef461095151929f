using Shouldly;
using EventGateway.Languages.Depends;
using EventGateway.Languages.Expr;

namespace EventGateway.Tests.Languages;

public class DependsExpressionTests
{
    private static TaskOutcome Done(string phase) => new(true, phase, false, []);

    private static TaskOutcome Pending() => new(false, "Running", false, []);

    private static TaskOutcome Loop(params string[] children) => new(true, "Succeeded", true, children);

    private static bool? Eval(string depends, params (string Task, TaskOutcome Outcome)[] outcomes)
    {
        var map = outcomes.ToDictionary(o => o.Task, o => o.Outcome);
        return DependsExpression.Parse(depends).Evaluate(task => map.TryGetValue(task, out var o) ? o : Pending());
    }

    [Theory]
    [InlineData("Succeeded", true)]
    [InlineData("Skipped", true)]
    [InlineData("Failed", false)]
    [InlineData("Error", false)]
    [InlineData("Omitted", false)]
    public void Bare_task_means_succeeded_skipped_or_daemoned(string phase, bool expected) =>
        Eval("A", ("A", Done(phase))).ShouldBe(expected);

    [Fact]
    public void Bare_task_accepts_a_running_daemon() =>
        Eval("A", ("A", new TaskOutcome(true, "Running", false, []))).ShouldBe(true);

    [Theory]
    [InlineData("A.Succeeded", "Succeeded", true)]
    [InlineData("A.Succeeded", "Skipped", false)]
    [InlineData("A.Failed", "Failed", true)]
    [InlineData("A.Failed", "Error", false)]
    [InlineData("A.Errored", "Error", true)]
    [InlineData("A.Errored", "Failed", false)]
    [InlineData("A.Skipped", "Skipped", true)]
    [InlineData("A.Omitted", "Omitted", true)]
    [InlineData("A.Omitted", "Skipped", false)]
    [InlineData("A.Daemoned", "Daemoned", true)]
    [InlineData("A.Daemoned", "Succeeded", false)]
    public void Results_match_the_node_phase(string depends, string phase, bool expected) =>
        Eval(depends, ("A", Done(phase))).ShouldBe(expected);

    [Fact]
    public void AnySucceeded_and_AllFailed_look_at_loop_children()
    {
        Eval("A.AnySucceeded", ("A", Loop("Failed", "Succeeded"))).ShouldBe(true);
        Eval("A.AnySucceeded", ("A", Loop("Failed", "Failed"))).ShouldBe(false);
        Eval("A.AllFailed", ("A", Loop("Failed", "Failed"))).ShouldBe(true);
        Eval("A.AllFailed", ("A", Loop("Failed", "Error"))).ShouldBe(false);
        Eval("A.AllFailed", ("A", Loop())).ShouldBe(false);
    }

    [Fact]
    public void AnySucceeded_is_false_for_a_task_that_is_not_a_loop() =>
        Eval("A.AnySucceeded", ("A", new TaskOutcome(true, "Succeeded", false, ["Succeeded"]))).ShouldBe(false);

    [Fact]
    public void Boolean_operators_and_parentheses()
    {
        Eval("A && B", ("A", Done("Succeeded")), ("B", Done("Succeeded"))).ShouldBe(true);
        Eval("A && B", ("A", Done("Succeeded")), ("B", Done("Failed"))).ShouldBe(false);
        Eval("A || B.Failed", ("A", Done("Failed")), ("B", Done("Failed"))).ShouldBe(true);
        Eval("!A.Failed", ("A", Done("Succeeded"))).ShouldBe(true);
        Eval("(task-2.Succeeded || task-2.Skipped) && !task-3.Failed", ("task-2", Done("Skipped")), ("task-3", Done("Succeeded"))).ShouldBe(true);
        Eval("(task-2.Succeeded || task-2.Skipped) && !task-3.Failed", ("task-2", Done("Skipped")), ("task-3", Done("Failed"))).ShouldBe(false);
        Eval("A || B && C", ("A", Done("Succeeded")), ("B", Done("Failed")), ("C", Done("Failed"))).ShouldBe(true);
    }

    [Fact]
    public void Incomplete_tasks_are_unknown()
    {
        Eval("A").ShouldBeNull();
        Eval("A && B", ("A", Done("Succeeded"))).ShouldBeNull();
        Eval("A || B", ("A", Done("Failed"))).ShouldBeNull();
        Eval("!A").ShouldBeNull();
    }

    [Fact]
    public void Decisive_operands_win_over_unknowns()
    {
        Eval("A || B", ("A", Done("Succeeded"))).ShouldBe(true);
        Eval("B || A", ("A", Done("Succeeded"))).ShouldBe(true);
        Eval("A && B", ("A", Done("Failed"))).ShouldBe(false);
        Eval("B && A", ("A", Done("Failed"))).ShouldBe(false);
        Eval("!(B && A)", ("A", Done("Failed"))).ShouldBe(true);
    }

    [Fact]
    public void Evaluation_short_circuits_without_asking_about_later_tasks()
    {
        var asked = new List<string>();
        var result = DependsExpression.Parse("A || B").Evaluate(t =>
        {
            asked.Add(t);
            return Done("Succeeded");
        });
        result.ShouldBe(true);
        asked.ShouldBe(new[] { "A" });
    }

    [Fact]
    public void TaskNames_lists_every_referenced_task_once()
    {
        var d = DependsExpression.Parse("(a.Succeeded || b_2) && !a.Failed && task-3.AnySucceeded");
        d.TaskNames.OrderBy(n => n, StringComparer.Ordinal).ShouldBe(new[] { "a", "b_2", "task-3" });
        d.Text.ShouldBe("(a.Succeeded || b_2) && !a.Failed && task-3.AnySucceeded");
    }

    [Theory]
    [InlineData("", "empty depends expression", 0)]
    [InlineData("A &&", "expected a task name at end of expression", 4)]
    [InlineData("A & B", "unexpected '&'", 2)]
    [InlineData("A B", "unexpected 'B'", 2)]
    [InlineData("(A || B", "missing ')'", 7)]
    [InlineData("A.Done", "unknown task result '.Done' (expected Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded or AllFailed)", 2)]
    [InlineData("A.succeeded", "unknown task result '.succeeded' (expected Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded or AllFailed)", 2)]
    [InlineData("A.Default", "unknown task result '.Default' (expected Succeeded, Failed, Errored, Skipped, Omitted, Daemoned, AnySucceeded or AllFailed)", 2)]
    [InlineData("|| A", "expected a task name but found '|'", 0)]
    public void Syntax_errors_report_position(string text, string reason, int position)
    {
        var e = Should.Throw<ExpressionException>(() => DependsExpression.Parse(text));
        e.Reason.ShouldBe(reason);
        e.Position.ShouldBe(position);
    }

    [Fact]
    public void FromDependencies_joins_with_and()
    {
        DependsExpression.FromDependencies(["A", "B", "C"]).ShouldBe("A && B && C");
        DependsExpression.FromDependencies(["solo"]).ShouldBe("solo");
        var legacy = DependsExpression.Parse(DependsExpression.FromDependencies(["A", "B"]));
        legacy.Evaluate(_ => Done("Skipped")).ShouldBe(true);
    }
}
