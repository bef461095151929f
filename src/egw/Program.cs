Console.WriteLine("egw");
