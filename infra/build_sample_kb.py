"""Writes the sample knowledge base's PDF and DOCX documents (taina/sample_kb) from the text below.

Run it after changing their text: `.venv/bin/pip install fpdf2 && .venv/bin/python infra/build_sample_kb.py`.
The generated files are committed, so running the assistant never needs fpdf2.
"""

from __future__ import annotations

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "taina" / "sample_kb"

# (title, [(heading, [paragraphs or table rows])])
Doc = tuple[str, list[tuple[str, list[str | tuple[str, ...]]]]]

PRICES: Doc = (
    "Lista de precios 2026",
    [
        (
            "Consultas",
            [
                "Precios para pacientes sin seguro (tarifa privada), en pesos dominicanos (RD$). Con seguro, el paciente paga solo el copago de su plan.",
                ("Consulta de medicina general", "RD$1,500"),
                ("Consulta de medicina interna", "RD$2,500"),
                ("Consulta de pediatría", "RD$2,500"),
                ("Consulta de cardiología", "RD$3,000"),
                ("Consulta de ginecología y obstetricia", "RD$2,800"),
                ("Consulta de dermatología", "RD$2,800"),
                ("Consulta de endocrinología", "RD$3,000"),
                ("Consulta de ortopedia", "RD$3,000"),
                ("Sesión de psicología (50 minutos)", "RD$2,500"),
                ("Consulta por telemedicina", "RD$1,800"),
            ],
        ),
        (
            "Laboratorio",
            [
                ("Hemograma completo", "RD$450"),
                ("Glucosa en ayunas", "RD$250"),
                ("Perfil lipídico", "RD$900"),
                ("Perfil tiroideo", "RD$1,600"),
                ("Hemoglobina glicosilada", "RD$1,100"),
                ("Prueba de embarazo en sangre", "RD$700"),
            ],
        ),
        (
            "Imágenes y otros estudios",
            [
                ("Electrocardiograma", "RD$1,200"),
                ("Prueba de esfuerzo", "RD$6,500"),
                ("Sonografía abdominal", "RD$2,800"),
                ("Sonografía obstétrica", "RD$2,500"),
                ("Mamografía digital", "RD$3,500"),
                ("Radiografía de tórax", "RD$1,400"),
                ("Tomografía simple", "RD$9,000"),
                ("Resonancia magnética", "RD$16,000"),
            ],
        ),
        (
            "Formas de pago",
            [
                "Aceptamos efectivo, tarjetas de crédito y débito Visa y Mastercard, y transferencias bancarias. No aceptamos cheques. Los pacientes sin seguro tienen 10 por ciento de descuento en laboratorio si pagan en efectivo.",
            ],
        ),
    ],
)

PREPARATION: Doc = (
    "Preparación para estudios",
    [
        (
            "Análisis de sangre",
            [
                "Para la glucosa, el perfil lipídico y la hemoglobina glicosilada venga en ayunas de 8 a 12 horas. Puede tomar agua. Tome sus medicamentos habituales salvo que su médico le indique lo contrario. La toma de muestras es de lunes a sábado de 6:30 a 10:00 de la mañana.",
            ],
        ),
        (
            "Sonografía abdominal",
            [
                "Venga en ayunas de 6 horas. El día anterior cene ligero y evite las bebidas gaseosas y los granos, como las habichuelas.",
            ],
        ),
        (
            "Sonografía pélvica",
            [
                "Tome un litro de agua una hora antes del estudio y no orine hasta después de la sonografía: la vejiga debe estar llena.",
            ],
        ),
        (
            "Mamografía",
            [
                "No use desodorante, talco ni cremas en las axilas ni en el pecho el día del estudio. Lo ideal es hacerla una semana después de la menstruación. Traiga sus mamografías anteriores.",
            ],
        ),
        (
            "Prueba de esfuerzo",
            [
                "Venga con ropa cómoda y zapatos deportivos. No tome café ni fume en las 4 horas anteriores. Coma algo ligero dos horas antes. Pregunte a su cardiólogo si debe suspender algún medicamento.",
            ],
        ),
        (
            "Colonoscopia",
            [
                "Siga la dieta líquida el día anterior y tome el laxante que le indicaron, en las horas indicadas. Debe venir con un acompañante adulto, porque el estudio se hace con sedación y no podrá conducir.",
            ],
        ),
    ],
)

SCHEDULES: Doc = (
    "Horarios por sede",
    [
        (
            "Sede Santo Domingo (Piantini)",
            [
                (
                    "Consultas",
                    "lunes a viernes de 7:00 a. m. a 8:00 p. m.; sábados de 8:00 a. m. a 1:00 p. m.",
                ),
                (
                    "Laboratorio",
                    "lunes a sábado de 6:30 a. m. a 6:00 p. m.; domingos de 7:00 a. m. a 11:00 a. m.",
                ),
                (
                    "Imágenes",
                    "lunes a viernes de 7:00 a. m. a 7:00 p. m.; sábados de 8:00 a. m. a 12:00 del mediodía.",
                ),
                ("Emergencias", "abierta las 24 horas, todos los días."),
                "Los domingos y días feriados solo funcionan la emergencia y el laboratorio, en horario reducido.",
            ],
        ),
        (
            "Sede Santiago (Los Jardines Metropolitanos)",
            [
                (
                    "Consultas",
                    "lunes a viernes de 7:30 a. m. a 6:00 p. m.; sábados de 8:00 a. m. a 12:00 del mediodía.",
                ),
                ("Laboratorio", "lunes a sábado de 6:30 a. m. a 12:00 del mediodía."),
                ("Imágenes", "lunes a viernes de 8:00 a. m. a 5:00 p. m."),
                "La sede de Santiago cierra los domingos y los días feriados. No tiene emergencia.",
            ],
        ),
        (
            "Atención telefónica y WhatsApp",
            [
                "El centro de llamadas atiende de lunes a sábado de 7:00 a. m. a 9:00 p. m. El asistente de voz atiende a cualquier hora.",
            ],
        ),
    ],
)

CONTACT: Doc = (
    "Contacto y cómo llegar",
    [
        (
            "Sede Santo Domingo",
            [
                "Dirección: Av. Abraham Lincoln núm. 1020, esquina calle Gustavo Mejía Ricart, Piantini, Santo Domingo. Está a dos cuadras de la plaza Blue Mall, frente a la farmacia Carol.",
                "Teléfono: 809-555-0142. Emergencias: 809-555-0199.",
                "Cómo llegar: en el Metro de Santo Domingo, bájese en la estación Francisco Alberto Caamaño de la línea 2 y tome un taxi de 5 minutos. Las rutas de carros públicos de la Lincoln pasan frente al centro.",
            ],
        ),
        (
            "Sede Santiago",
            [
                "Dirección: Av. Juan Pablo Duarte núm. 215, Los Jardines Metropolitanos, Santiago de los Caballeros, al lado del Monumento a los Héroes de la Restauración, a tres minutos en carro.",
                "Teléfono: 809-555-0275.",
                "Cómo llegar: desde la autopista Duarte tome la avenida Estrella Sadhalá y luego la Juan Pablo Duarte hacia el Monumento.",
            ],
        ),
        (
            "Canales digitales",
            [
                "WhatsApp para citas y resultados: 829-555-0160. Correo electrónico: citas@caribesalud.do. Sitio web: www.caribesalud.do.",
            ],
        ),
    ],
)


def _pdf(doc: Doc, path: Path) -> None:
    from fpdf import FPDF

    title, sections = doc
    pdf = FPDF(format="Letter")
    pdf.set_title(title)
    pdf.set_author("Centro Médico Caribe Salud")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(
        0,
        6,
        "Centro Médico Caribe Salud. Santo Domingo y Santiago, República Dominicana.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    for heading, items in sections:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 13)
        pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for item in items:
            text = f"{item[0]}: {item[1]}." if isinstance(item, tuple) else item
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))


def _docx(doc: Doc, path: Path) -> None:
    import docx

    title, sections = doc
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.author = "Centro Médico Caribe Salud"
    document.add_heading(title, level=0)
    for heading, items in sections:
        document.add_heading(heading, level=1)
        rows = [i for i in items if isinstance(i, tuple)]
        if rows:
            table = document.add_table(rows=0, cols=2)
            for left, right in rows:
                cells = table.add_row().cells
                cells[0].text, cells[1].text = left, right
        for item in items:
            if isinstance(item, str):
                document.add_paragraph(item)
    document.save(str(path))


def main() -> None:
    _pdf(PRICES, OUT / "lista-de-precios.pdf")
    _pdf(PREPARATION, OUT / "preparacion-para-estudios.pdf")
    _docx(SCHEDULES, OUT / "horarios-por-sede.docx")
    _docx(CONTACT, OUT / "contacto-y-como-llegar.docx")
    print(f"wrote 2 PDF and 2 DOCX files to {OUT}")


if __name__ == "__main__":
    main()
