from minidl.app.cli import run

if __name__ == "__main__":
    run()
