"""People's names as a receptionist writes them: common Hispanic given names and surnames with their accents.

A recogniser writes "maria perez" or "ramon nunez"; the booking is made for "María Pérez" and "Ramón Núñez".
A word that is in neither list is left as it was heard (only its first letter capitalised). The lists also tell
a name from other words: "rafael emilio guerrero" holds known names, "me cobran algo" does not.
"""

from __future__ import annotations

from adapters.policy.when import plain

_ACCENTED = """
    Adrián Agustín Álvaro Andrés Ángel Ángela Aníbal Antonio Araújo Báez Belén Benítez Beltrán Bienvenido
    Calderón Cáceres César Colón Concepción Cristóbal Darío Dámaso Díaz Domínguez Efraín Elías Encarnación
    Estévez Eugenio Fabián Fernández Féliz Félix Fermín Florián García Gómez González Gutiérrez Guzmán Hernández
    Héctor Herrera Holguín Iván Jazmín Jesús Jiménez Joaquín José Josué Julián Lázaro León Leonardo López Lucía
    Luján Marín Martín Martínez Matías Máximo Mejía Méndez Mía Míguez Milagros Moisés Monción Mónica Muñoz
    Nicolás Núñez Óscar Pérez Peña Polanco Ramírez Ramón Raúl Rodríguez Rosalía Rubén Ruíz Sánchez Sebastián
    Sención Simón Sofía Sonia Suárez Tavárez Tomás Valentín Vásquez Velásquez Víctor Vílchez Yanelis Zoraida
    Almánzar Benjamín Bolívar Brito Cabrera Cristián Custodio Damián Dolores Ramona Esmérida Eusebio Germán
    Gastón Ismaël Lantigua Lourdes Mariñez Ortiz Paulino Peralta Pichardo Tejada Taveras Ureña Valdez Ángeles
    Cecilia Inés Irene Noemí Rocío Ruth Zoé Abigaíl Nazaret Estéfani Génesis Ana Altagracia
    Yudelka Yokasta Yahaira Yanet Yesenia Wendy Scarlet Kevin Ashley Nicole Wilson Wilmer Yunior Franklin
    Alejandra Alejandro Andrea Antonia Beatriz Camila Carlos Carmen Catalina Cristina Daniel Daniela David
    Diego Eduardo Elena Emilio Esther Fernando Francisco Gabriel Gabriela Isabel Javier Jorge Juan Julio Laura
    Luis Luisa Manuel Margarita María Mario Mercedes Miguel Natalia Pablo Patricia Paola Pedro Rafael Ricardo
    Roberto Rosa Santiago Sara Teresa Valentina Victoria Yolanda Alberto Ernesto Iris Miledys Francisca Juana
    Abreu Acosta Almonte Batista Castillo Cruz Cuevas Espinal Frías Guerrero Marte Medina Mendoza Mota
    Morales Ortega Reyes Rivera Rojas Rosario Santana Santos Soto Tapia Torres Vargas Ventura Vidal Cabral
"""
SPELLING: dict[str, str] = {plain(word): word for word in _ACCENTED.split()}
# Particles inside a name, written in lower case: "María del Carmen de la Cruz".
PARTICLES = frozenset({"de", "del", "la", "las", "los", "y"})


def spelled(name: str) -> str:
    """``name`` with each word as people write it: a known name with its accents ("ramon nunez" -> "Ramón
    Núñez"), a particle in lower case, any other word as heard with a capital first letter."""
    words = []
    for word in name.split():
        key = plain(word)
        if key in PARTICLES:
            words.append(key)
        elif word.lower().replace("ñ", "n") == key and key in SPELLING:  # heard without accents
            words.append(SPELLING[key])
        else:
            words.append(word[:1].upper() + word[1:])
    return " ".join(words)


def known_words(name: str) -> int:
    """How many words of ``name`` are known given names or surnames."""
    return sum(plain(word) in SPELLING for word in name.split())
