/**
 * The page: counts the primes below a limit in chunks on a `BrowserThreadPool`, and shows the pool's statistics
 * and the throughput while it runs.
 */
import { BrowserThreadPool } from "@effect-threads/browser"
import { ThreadPool } from "@effect-threads/core"
import { Cause, Effect, Fiber, Schedule, Stream } from "effect"
import { CountPrimes } from "./api.ts"
import { chunks } from "./primes.ts"

const byId = <E extends HTMLElement>(id: string): E => {
  const found = document.getElementById(id)
  if (found === null) throw new Error(`the page has no #${id}`)
  return found as E
}

const form = byId<HTMLFormElement>("controls")
const startButton = byId<HTMLButtonElement>("start")
const inputs = {
  limit: byId<HTMLInputElement>("limit"),
  chunk: byId<HTMLInputElement>("chunk"),
  threads: byId<HTMLInputElement>("threads")
}
const fields = {
  status: byId("status"),
  workers: byId("workers"),
  busy: byId("busy"),
  idle: byId("idle"),
  backlog: byId("backlog"),
  done: byId("done"),
  total: byId("total"),
  primes: byId("primes"),
  elapsed: byId("elapsed"),
  frames: byId("frames"),
  result: byId("result")
}
const canvas = byId<HTMLCanvasElement>("chart")
const tickerBar = byId("ticker-bar")

const formatInteger = (n: number): string => n.toLocaleString("en-US")

interface Progress {
  done: number
  total: number
  primes: number
  checked: number
}

// Throughput samples: seconds since the start, numbers checked per second over the last interval.
const samples: Array<{ readonly t: number; readonly rate: number }> = []

const drawChart = (): void => {
  const context = canvas.getContext("2d")
  if (context === null) return
  const { height, width } = canvas
  const pad = { left: 64, right: 16, top: 16, bottom: 28 }
  context.clearRect(0, 0, width, height)
  const maxT = Math.max(0.5, ...samples.map((s) => s.t))
  const maxRate = Math.max(1, ...samples.map((s) => s.rate)) * 1.15
  const x = (t: number) => pad.left + (t / maxT) * (width - pad.left - pad.right)
  const y = (rate: number) => height - pad.bottom - (rate / maxRate) * (height - pad.top - pad.bottom)
  context.font = "12px system-ui, sans-serif"
  context.strokeStyle = "#e2e8f0"
  context.fillStyle = "#718096"
  context.lineWidth = 1
  for (let i = 0; i <= 4; i++) {
    const rate = (maxRate / 4) * i
    context.beginPath()
    context.moveTo(pad.left, y(rate))
    context.lineTo(width - pad.right, y(rate))
    context.stroke()
    context.fillText(`${(rate / 1e6).toFixed(1)} M/s`, 8, y(rate) + 4)
  }
  for (let i = 0; i <= 4; i++) {
    const t = (maxT / 4) * i
    const label = `${t.toFixed(1)} s`
    context.fillText(label, Math.min(x(t) - 12, width - pad.right - context.measureText(label).width), height - 8)
  }
  if (samples.length === 0) return
  context.beginPath()
  context.moveTo(x(0), y(0))
  for (const sample of samples) context.lineTo(x(sample.t), y(sample.rate))
  context.lineTo(x(samples[samples.length - 1]!.t), y(0))
  context.closePath()
  context.fillStyle = "rgba(43, 108, 176, 0.15)"
  context.fill()
  context.beginPath()
  context.moveTo(x(0), y(0))
  for (const sample of samples) context.lineTo(x(sample.t), y(sample.rate))
  context.strokeStyle = "#2b6cb0"
  context.lineWidth = 2
  context.stroke()
}

const showStatistics = (statistics: ThreadPool.Statistics): void => {
  fields.workers.textContent = String(statistics.workerCount)
  fields.busy.textContent = String(statistics.busyWorkerCount)
  fields.idle.textContent = String(statistics.idleWorkerCount)
  fields.backlog.textContent = String(statistics.backloggedWorkCount)
}

// Counts the renders of progress made while the job was still running: proof that the page was not blocked.
let rendersWhileRunning = 0

const showProgress = (progress: Progress): void => {
  fields.done.textContent = String(progress.done)
  fields.total.textContent = String(progress.total)
  fields.primes.textContent = formatInteger(progress.primes)
  if (progress.done > 0 && progress.done < progress.total) {
    rendersWhileRunning++
    document.body.dataset["rendersWhileRunning"] = String(rendersWhileRunning)
  }
}

// Animation frames drawn while the job runs; the ticker moves on each one.
let frames = 0
let animating = false
const animate = (): void => {
  if (!animating) return
  frames++
  fields.frames.textContent = String(frames)
  tickerBar.style.transform = `translateX(${(frames * 8) % 666}%)`
  requestAnimationFrame(animate)
}

const countPrimesBelow = (options: { readonly limit: number; readonly chunk: number; readonly threads: number }) =>
  Effect.gen(function*() {
    const pool = yield* ThreadPool.ThreadPool
    const ranges = chunks(options.limit, options.chunk)
    const progress: Progress = { done: 0, total: ranges.length, primes: 0, checked: 0 }
    const started = performance.now()
    let last = { t: 0, checked: 0 }

    const sample = Effect.gen(function*() {
      showStatistics(yield* pool.statistics)
      const t = (performance.now() - started) / 1000
      fields.elapsed.textContent = `${t.toFixed(1)} s`
      if (t > last.t) {
        samples.push({ t, rate: (progress.checked - last.checked) / (t - last.t) })
        last = { t, checked: progress.checked }
        drawChart()
      }
    })

    showProgress(progress)
    const sampler = yield* Effect.forkChild(Effect.repeat(sample, Schedule.spaced("100 millis")))
    // One call for every range, in batches sized by the time a range takes; the counts come in the ranges' order.
    yield* Stream.fromIterable(ranges).pipe(
      ThreadPool.mapStream(CountPrimes),
      Stream.runForEach((count) =>
        Effect.sync(() => {
          const range = ranges[progress.done++]!
          progress.primes += count
          progress.checked += range.to - range.from
          showProgress(progress)
        })
      )
    )
    const seconds = (performance.now() - started) / 1000
    yield* Fiber.interrupt(sampler)
    // A worker turns idle just after its caller has the result: show the pool once it has settled.
    while (true) {
      const { backloggedWorkCount, busyWorkerCount } = yield* pool.statistics
      if (busyWorkerCount === 0 && backloggedWorkCount === 0) break
      yield* Effect.sleep("5 millis")
    }
    yield* sample
    return { primes: progress.primes, tasks: ranges.length, seconds }
  }).pipe(
    Effect.provide(
      BrowserThreadPool.layer({
        spawn: () => new Worker(new URL("./tasks.ts", import.meta.url), { type: "module" }),
        minThreads: options.threads,
        maxThreads: options.threads
      })
    )
  )

const readInteger = (input: HTMLInputElement, min: number): number => {
  const value = Math.floor(Number(input.value))
  return Number.isFinite(value) && value >= min ? value : min
}

form.addEventListener("submit", (event) => {
  event.preventDefault()
  const options = {
    limit: readInteger(inputs.limit, 2),
    chunk: readInteger(inputs.chunk, 1),
    threads: readInteger(inputs.threads, 1)
  }
  startButton.disabled = true
  samples.length = 0
  drawChart()
  frames = 0
  rendersWhileRunning = 0
  animating = true
  requestAnimationFrame(animate)
  fields.status.textContent = "running"
  fields.result.textContent = ""
  document.body.dataset["state"] = "running"

  const finish = (state: string, status: string, result: string): void => {
    animating = false
    startButton.disabled = false
    fields.status.textContent = status
    fields.result.textContent = result
    document.body.dataset["state"] = state
  }

  Effect.runFork(
    countPrimesBelow(options).pipe(
      Effect.matchCause({
        onSuccess: ({ primes, seconds, tasks }) => {
          fields.result.dataset["count"] = String(primes)
          finish(
            "done",
            "done",
            `There are ${formatInteger(primes)} primes below ${
              formatInteger(options.limit)
            }: ${tasks} tasks on ${options.threads} workers in ${seconds.toFixed(2)} s.`
          )
        },
        onFailure: (cause) => finish("failed", "failed", Cause.pretty(cause))
      })
    )
  )
})

drawChart()
document.body.dataset["state"] = "ready"
