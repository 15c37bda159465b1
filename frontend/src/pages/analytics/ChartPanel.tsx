// One chart.js chart in a panel, with "Save as PNG". Chart.js draws on a <canvas>, so the PNG is
// the canvas itself; a tiny plugin paints a white background first (a transparent PNG is
// unreadable on dark viewers).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  type ChartData,
  type ChartOptions,
  type ChartType,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  type Plugin,
  PointElement,
  Tooltip,
} from 'chart.js';
import { type ReactNode, useRef } from 'react';
import { Chart } from 'react-chartjs-2';

import { Button } from '../../components/ui';

ChartJS.register(BarController, BarElement, LineController, LineElement, PointElement, CategoryScale, LinearScale, Legend, Tooltip);

const whiteBackground: Plugin = {
  id: 'whiteBackground',
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** Series colours, in order; the first is the design system's primary. */
export const PALETTE = ['#4f46e5', '#0d9488', '#d97706', '#db2777', '#2563eb', '#64748b', '#dc2626', '#7c3aed'];

export function colored<T extends ChartType>(data: { labels: string[]; datasets: { label: string; data: number[] }[] }, type: T): ChartData<T> {
  return {
    labels: data.labels,
    datasets: data.datasets.map((d, i) => ({
      ...d,
      backgroundColor: type === 'line' ? PALETTE[i % PALETTE.length] : `${PALETTE[i % PALETTE.length]}cc`,
      borderColor: PALETTE[i % PALETTE.length],
      borderWidth: type === 'line' ? 2 : 0,
      tension: 0.25,
      pointRadius: 2,
    })),
  } as unknown as ChartData<T>;
}

export function ChartPanel<T extends 'bar' | 'line'>({
  title,
  type,
  data,
  options,
  fileName,
  height = 280,
  children,
}: {
  title: string;
  type: T;
  data: ChartData<T>;
  options?: ChartOptions<T>;
  fileName: string;
  height?: number;
  children?: ReactNode;
}) {
  const ref = useRef<ChartJS<T>>(null);
  const save = () => {
    const chart = ref.current;
    if (!chart) return;
    const link = document.createElement('a');
    link.href = chart.toBase64Image('image/png', 1);
    link.download = fileName;
    link.click();
  };
  return (
    <section className="panel" aria-label={title}>
      <div className="panel-head">
        <h2>{title}</h2>
        <Button size="sm" onClick={save}>
          Save as PNG
        </Button>
      </div>
      <div className="chart-box" style={{ height }}>
        <Chart
          ref={ref as never}
          aria-label={`${title} (chart)`}
          type={type}
          data={data as never}
          plugins={[whiteBackground]}
          options={{ responsive: true, maintainAspectRatio: false, animation: false, ...(options as object) } as never}
        />
      </div>
      {children}
    </section>
  );
}
