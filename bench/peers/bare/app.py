"""A bare FastAPI app with one route: the ceiling every other number is read against.

It runs in the recipe's venv, so it shares that FastAPI, Starlette and uvicorn.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    """Answer without touching anything."""
    return {"status": "ok"}
