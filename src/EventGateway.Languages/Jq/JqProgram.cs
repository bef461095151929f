using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Jq;

/// <summary>
/// A parsed jq program (the subset Argo Events users write in <c>transform.jq</c>: paths, pipes, constructors,
/// arithmetic, conditionals, reduce/foreach, def, assignments, string interpolation and most builtins).
/// Parse once with <see cref="Parse"/> (memoised by text) and run it many times; instances are immutable and
/// thread-safe. Not supported: label/break, modules, <c>?//</c>, streaming builtins, input/inputs; <c>$ENV</c> and
/// <c>env</c> are empty because the process environment holds secrets.
/// </summary>
public sealed class JqProgram
{
    /// <summary>Work units (outputs, iterations, copied elements) one run may spend before it is stopped.</summary>
    public const long DefaultStepBudget = 10_000_000;

    private static readonly BoundedCache<JqProgram> Cache = new(256);

    private readonly JqNode root;

    private JqProgram(string text, JqNode root)
    {
        Text = text;
        this.root = root;
    }

    public string Text { get; }

    /// <summary>Parses (memoised); a syntax error or an unknown function or variable throws
    /// <see cref="TransformException"/> with <see cref="TransformException.Position"/> set.</summary>
    public static JqProgram Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Cache.GetOrAdd(text, t => new JqProgram(t, JqParser.Parse(t)));
    }

    /// <summary>All outputs of the program for <paramref name="input"/>; a runtime error throws <see cref="TransformException"/>.</summary>
    public IReadOnlyList<JsonNode?> Run(JsonNode? input, TimeProvider? time = null, long stepBudget = DefaultStepBudget) =>
        Evaluate(JqValues.FromNode(input), time, stepBudget).Select(JqValues.ToNode).ToList();

    /// <summary>
    /// Lazily evaluated outputs for <paramref name="input"/>, so a caller wanting the first one runs no further;
    /// a runtime error throws <see cref="TransformException"/> while enumerating.
    /// </summary>
    public IEnumerable<JqOutput> Outputs(JsonElement input, TimeProvider? time = null, long stepBudget = DefaultStepBudget) =>
        Evaluate(JqValues.FromElement(input), time, stepBudget).Select(v => new JqOutput(v));

    /// <summary>Lazily evaluated outputs as jq values; errors surface while enumerating.</summary>
    internal IEnumerable<object?> Evaluate(object? input, TimeProvider? time = null, long stepBudget = DefaultStepBudget)
    {
        var env = JqEnv.Root(new JqRun(stepBudget, time ?? TimeProvider.System));
        using var outputs = root.Values(input, env).GetEnumerator();
        while (true)
        {
            object? current;
            try
            {
                if (!outputs.MoveNext())
                {
                    yield break;
                }

                current = outputs.Current;
            }
            catch (JqError e)
            {
                throw new TransformException(e.Message, e);
            }

            yield return current;
        }
    }

    public override string ToString() => Text;
}
