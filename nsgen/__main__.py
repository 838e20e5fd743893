from nsgen.cli import main

main()
